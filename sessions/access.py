"""Who may see and change what. The one module that states the access rules.

Rules:
- A therapist sees and edits only children assigned to them, and those children's sessions.
- A guardian sees only their own child(ren), and only what a therapist released to them
  (reports, exercises); sessions and recordings are never shown to guardians.
- A clinic admin manages users, assignments, models and consent for their clinic and reads all
  of its data, but does not edit clinical content.
- Nothing crosses clinics.

``*_visible_to`` return querysets that every list, search, count and export filters through;
``get_*_for_user`` fetch one object: 404 (``Http404``) when the user may not know it exists,
403 (``PermissionDenied``) when they may see it but not perform the action. This holds for every
app's objects (children, sessions, recordings, exercises, assignments, attempts, uploads, trend
markers, reports, model versions): the apps' selectors and views call these, and define none.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from analysis.models import EmotionModelVersion
from sessions.exercises.models import Assignment, Attempt, Exercise
from sessions.families.models import ConsentPurpose, ConsentRecord, ProgressReport, ReportStatus
from sessions.listening.models import Clip, ListeningAnswer, ListeningAssignment, ListeningSet
from sessions.models import (
    Child,
    Clinic,
    Invitation,
    InvitationStatus,
    Membership,
    Recording,
    Role,
    TherapySession,
    User,
)
from sessions.types import Actor
from sessions.validation.models import ReviewItem
from sessions.workspace.models import ChunkedUpload, TrendMarker


def _clinic_ids(user: Actor, role: Role) -> QuerySet[Membership, Any]:
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return Membership.objects.none().values_list("clinic_id", flat=True)
    return Membership.objects.filter(user=user, role=role).values_list("clinic_id", flat=True)


def _roles_by_clinic(user: Actor) -> dict[str, str]:
    """The user's role in each clinic (one membership per clinic), by clinic id."""
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return {}
    cached: dict[str, str] | None = getattr(user, "_ser_roles_by_clinic", None)
    if cached is None:
        cached = {
            str(clinic_id): role
            for clinic_id, role in Membership.objects.filter(user=user).values_list(
                "clinic_id", "role"
            )
        }
        # Cached on the user object (setattr reaches the user behind request.user's lazy
        # wrapper; sessions.services.membership_* drop it when a role changes).
        setattr(user, "_ser_roles_by_clinic", cached)  # noqa: B010 - not a declared field
    return cached


def roles_of(user: Actor) -> set[str]:
    """Every role the user holds in any clinic. Only for choosing menus and start pages: what a
    role allows is always decided per clinic (``role_in``, ``is_staff_in``), because one person
    may be a therapist in one clinic and a parent in another."""
    return set(_roles_by_clinic(user).values())


def role_in(user: Actor, clinic_id: UUID | str | None) -> str | None:
    """The user's role in that clinic, or None."""
    if clinic_id is None:
        return None
    return _roles_by_clinic(user).get(str(clinic_id))


def clinic_ids_of(user: Actor) -> list[str]:
    """The clinics the user belongs to (for account events in each clinic's audit log)."""
    return sorted(_roles_by_clinic(user))


def is_clinic_admin(user: Actor) -> bool:
    return Role.CLINIC_ADMIN in roles_of(user)


def is_therapist(user: Actor) -> bool:
    return Role.THERAPIST in roles_of(user)


def is_guardian(user: Actor) -> bool:
    return Role.GUARDIAN in roles_of(user)


def is_staff_member(user: Actor) -> bool:
    """Staff in some clinic. Account-wide on purpose: the two-factor rule protects the account,
    and an account that is staff anywhere must use it everywhere."""
    return bool(roles_of(user) & {Role.CLINIC_ADMIN, Role.THERAPIST})


def is_staff_in(user: Actor, clinic_id: UUID | str | None) -> bool:
    """Therapist or clinic admin of that clinic (a parent there who works elsewhere is not)."""
    return role_in(user, clinic_id) in {Role.CLINIC_ADMIN, Role.THERAPIST}


def is_therapist_in(user: Actor, clinic_id: UUID | str | None) -> bool:
    return role_in(user, clinic_id) == Role.THERAPIST


def admin_clinics(user: Actor) -> QuerySet[Clinic]:
    return Clinic.objects.filter(id__in=_clinic_ids(user, Role.CLINIC_ADMIN))


# --- children ---------------------------------------------------------------------------------


def children_visible_to(user: Actor) -> QuerySet[Child]:
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return Child.objects.none()
    return Child.objects.filter(
        Q(clinic_id__in=_clinic_ids(user, Role.CLINIC_ADMIN))
        | Q(therapists=user, clinic_id__in=_clinic_ids(user, Role.THERAPIST))
        | Q(guardians=user, clinic_id__in=_clinic_ids(user, Role.GUARDIAN))
    ).distinct()


def children_editable_by(user: Actor) -> QuerySet[Child]:
    """Children whose clinical data (sessions, recordings, corrections) the user may change."""
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return Child.objects.none()
    return Child.objects.filter(
        therapists=user, clinic_id__in=_clinic_ids(user, Role.THERAPIST)
    ).distinct()


def is_therapist_of(user: Actor, child: Child) -> bool:
    return children_editable_by(user).filter(pk=child.pk).exists()


def is_guardian_of(user: Actor, child: Child) -> bool:
    if not isinstance(user, User):
        return False
    return Child.objects.filter(
        pk=child.pk, guardians=user, clinic_id__in=_clinic_ids(user, Role.GUARDIAN)
    ).exists()


def is_admin_of_clinic(user: Actor, clinic_id: UUID | str) -> bool:
    if not isinstance(user, User):
        return False
    return Membership.objects.filter(
        user=user, clinic_id=clinic_id, role=Role.CLINIC_ADMIN
    ).exists()


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as exc:
        # A malformed (forged) id is as unknown as a missing one.
        raise Http404("Not found.") from exc


def get_child_for_user(user: Actor, child_id: Any, *, write: bool = False) -> Child:
    child: Child = _get_or_404(children_visible_to(user).select_related("clinic"), child_id)
    if write and not is_therapist_of(user, child):
        raise PermissionDenied("You can view this child but not change their records.")
    return child


# --- sessions and recordings ------------------------------------------------------------------


def sessions_visible_to(user: Actor) -> QuerySet[TherapySession]:
    """Guardians never see sessions: only released reports and exercises reach families."""
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return TherapySession.objects.none()
    return TherapySession.objects.filter(
        Q(child__clinic_id__in=_clinic_ids(user, Role.CLINIC_ADMIN))
        | Q(child__in=children_editable_by(user))
    ).distinct()


def get_session_for_user(user: Actor, session_id: Any, *, write: bool = False) -> TherapySession:
    session: TherapySession = _get_or_404(
        sessions_visible_to(user).select_related("child", "child__clinic", "therapist"),
        session_id,
    )
    if write and not is_therapist_of(user, session.child):
        raise PermissionDenied("You can view this session but not change it.")
    return session


def recordings_visible_to(user: Actor) -> QuerySet[Recording]:
    return Recording.objects.filter(session__in=sessions_visible_to(user))


def get_recording_for_user(user: Actor, recording_id: Any, *, write: bool = False) -> Recording:
    recording: Recording = _get_or_404(
        recordings_visible_to(user).select_related("session", "session__child"), recording_id
    )
    if write and not is_therapist_of(user, recording.session.child):
        raise PermissionDenied("You can view this recording but not change it.")
    return recording


# --- people -----------------------------------------------------------------------------------


def users_manageable_by(user: Actor) -> QuerySet[User]:
    """Accounts a clinic admin manages: members of their clinics."""
    return User.objects.filter(memberships__clinic__in=admin_clinics(user)).distinct()


def require_clinic_admin(user: Actor) -> Clinic:
    """The clinic an admin acts for; 404 for everyone else (the console is not theirs to know)."""
    clinic = admin_clinics(user).first()
    if clinic is None:
        raise Http404("Not found.")
    return clinic


def require_therapist_clinic(user: Actor) -> Clinic:
    """The clinic a therapist creates exercises for (their first therapist membership); 403
    for everyone else."""
    membership = (
        Membership.objects.filter(user=user, role=Role.THERAPIST).select_related("clinic").first()
        if isinstance(user, User)
        else None
    )
    if membership is None:
        raise PermissionDenied("Only therapists can create exercises.")
    return membership.clinic


def get_invitation_for_user(user: Actor, key: str) -> Invitation:
    """The open invitation behind ``key``, if it is addressed to ``user``; 404 otherwise (an
    answered, expired or someone else's invitation is as unknown as a wrong key)."""
    from django.utils import timezone

    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        raise Http404("Not found.")
    invitation = (
        Invitation.objects.select_related("clinic")
        .filter(
            key_hash=Invitation.hash_key(key),
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
            email__iexact=user.email,
        )
        .first()
    )
    if invitation is None:
        raise Http404("Not found.")
    return invitation


# --- practice: exercises, assignments, attempts -----------------------------------------------
# Exercises are clinic teaching material: therapists and admins of the clinic see them,
# therapists create and edit them, admins read. Families see an exercise only through an
# assignment to their child (and may play its model recording). Assignments and attempts are
# the child's data: whoever may see the child sees them; the child's guardians and therapists
# may practise (record attempts); only the child's therapists assign, end assignments and
# review attempts.


def _staff_clinic_ids(user: Actor) -> QuerySet[Membership, Any]:
    if not isinstance(user, User):
        return Membership.objects.none().values_list("clinic_id", flat=True)
    return Membership.objects.filter(
        user=user, role__in=[Role.THERAPIST, Role.CLINIC_ADMIN]
    ).values_list("clinic_id", flat=True)


def exercises_visible_to(user: Actor) -> QuerySet[Exercise]:
    """The exercise library of the user's clinics (staff only; families see assignments)."""
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return Exercise.objects.none()
    return Exercise.objects.filter(clinic_id__in=_staff_clinic_ids(user))


def can_edit_exercises(user: Actor, clinic_id: Any) -> bool:
    if not isinstance(user, User):
        return False
    return Membership.objects.filter(user=user, clinic_id=clinic_id, role=Role.THERAPIST).exists()


def get_exercise_for_user(user: Actor, exercise_id: Any, *, write: bool = False) -> Exercise:
    exercise: Exercise = _get_or_404(
        exercises_visible_to(user).select_related("clinic"), exercise_id
    )
    if write and not can_edit_exercises(user, exercise.clinic_id):
        raise PermissionDenied("Only therapists can change exercises.")
    return exercise


def get_exercise_audio_for_user(user: Actor, exercise_id: Any) -> Exercise:
    """An exercise whose model recording the user may hear: staff of its clinic, or a guardian
    (or therapist) of a child it was assigned to."""
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        raise Http404("Not found.")
    assigned = Assignment.objects.filter(child__in=children_visible_to(user))
    visible = Exercise.objects.filter(
        Q(clinic_id__in=_staff_clinic_ids(user)) | Q(id__in=assigned.values("exercise_id"))
    )
    exercise: Exercise = _get_or_404(visible, exercise_id)
    return exercise


def assignments_visible_to(user: Actor) -> QuerySet[Assignment]:
    return Assignment.objects.filter(child__in=children_visible_to(user))


def may_practise(user: Actor, child: Child) -> bool:
    return is_guardian_of(user, child) or is_therapist_of(user, child)


def get_assignment_for_user(
    user: Actor, assignment_id: Any, *, practise: bool = False, write: bool = False
) -> Assignment:
    """``practise``: record attempts (guardian or therapist of the child); ``write``: change
    the assignment (therapist of the child). 404 when the child is not visible, else 403."""
    assignment: Assignment = _get_or_404(
        assignments_visible_to(user).select_related("exercise", "child", "child__clinic"),
        assignment_id,
    )
    if practise and not may_practise(user, assignment.child):
        raise PermissionDenied("Only the child's family and therapists can record practice.")
    if write and not is_therapist_of(user, assignment.child):
        raise PermissionDenied("Only the child's therapists can change exercises.")
    return assignment


def attempts_visible_to(user: Actor) -> QuerySet[Attempt]:
    return Attempt.objects.filter(child__in=children_visible_to(user))


def get_attempt_for_user(user: Actor, attempt_id: Any, *, review: bool = False) -> Attempt:
    attempt: Attempt = _get_or_404(
        attempts_visible_to(user).select_related(
            "assignment",
            "assignment__exercise",
            "child",
            "child__clinic",
            "model_version",
            "reviewed_by",
        ),
        attempt_id,
    )
    if review and not is_therapist_of(user, attempt.child):
        raise PermissionDenied("Only the child's therapists can review attempts.")
    return attempt


# --- the workspace's own rows: chunked uploads and trend markers -------------------------------


def get_upload_for_user(user: Actor, upload_id: Any) -> ChunkedUpload:
    """An upload of a session the user may see (404 otherwise); only the child's therapists may
    touch it (403 for others who can see the session, such as the clinic admin)."""
    upload: ChunkedUpload = _get_or_404(
        ChunkedUpload.objects.filter(session__in=sessions_visible_to(user)).select_related(
            "session__child"
        ),
        upload_id,
    )
    if not is_therapist_of(user, upload.session.child):
        raise PermissionDenied("Only the child's therapist can upload recordings.")
    return upload


def get_marker_for_user(user: Actor, child: Child, marker_id: Any) -> TrendMarker:
    """A trend marker of ``child`` (which the caller fetched through ``get_child_for_user``)."""
    marker: TrendMarker = _get_or_404(TrendMarker.objects.filter(child=child), marker_id)
    return marker


# --- progress reports ---------------------------------------------------------------------------
# A therapist of the child and the clinic's admin see every version; a guardian sees only
# released reports, and only while the sharing consent holds.


def _sharing_live() -> Exists:
    return Exists(
        ConsentRecord.objects.filter(
            child=OuterRef("child"), purpose=ConsentPurpose.SHARING, revoked_at__isnull=True
        )
    )


def reports_visible_to(user: Actor) -> QuerySet[ProgressReport]:
    if not isinstance(user, User):  # anonymous (an authenticated user is a User)
        return ProgressReport.objects.none()
    admin_children = Child.objects.filter(clinic__in=admin_clinics(user)).values("pk")
    guardian_children = children_visible_to(user).filter(guardians=user).values("pk")
    return ProgressReport.objects.filter(
        Q(child_id__in=admin_children)
        | Q(child_id__in=children_editable_by(user).values("pk"))
        | (Q(child_id__in=guardian_children, status=ReportStatus.RELEASED) & Q(_sharing_live()))
    ).distinct()


def get_report_for_user(user: Actor, report_id: Any, *, write: bool = False) -> ProgressReport:
    report: ProgressReport = _get_or_404(
        reports_visible_to(user).select_related(
            "child", "child__clinic", "released_by", "created_by"
        ),
        report_id,
    )
    if write and not is_therapist_of(user, report.child):
        raise PermissionDenied("You can read this report but not change it.")
    return report


def is_staff_reader(user: Actor, child: Child) -> bool:
    """A therapist of the child or an admin of its clinic (not a guardian)."""
    return is_therapist_of(user, child) or is_admin_of_clinic(user, child.clinic_id)


# --- consent records -----------------------------------------------------------------------------
# The child's staff read them; only an admin of the child's clinic records or revokes one.


def get_child_for_consent_admin(user: Actor, child_id: Any) -> Child:
    """The child whose consent ``user`` records or revokes: 404 for whoever may not see the
    child, 403 for anyone who may see it but is not an admin of its clinic."""
    child = get_child_for_user(user, child_id)
    if not is_admin_of_clinic(user, child.clinic_id):
        raise PermissionDenied("Only a clinic admin can record or revoke consent.")
    return child


# --- emotion models (the registry) ----------------------------------------------------------------
# Models belong to a clinic and only its admins see them; anyone else gets a 404 (the console
# is not theirs to know about).


def versions_visible_to(user: Actor) -> QuerySet[EmotionModelVersion]:
    return EmotionModelVersion.objects.filter(clinic__in=admin_clinics(user))


def get_version_for_admin(user: Actor, version_id: Any) -> EmotionModelVersion:
    """The version if ``user`` administers its clinic; 404 otherwise (also for bad ids)."""
    version: EmotionModelVersion = _get_or_404(
        versions_visible_to(user).select_related(
            "clinic", "created_by", "activated_by", "retired_by", "base_version"
        ),
        version_id,
    )
    return version


def get_trial_recording(user: Actor, clinic: Clinic, recording_id: Any) -> Recording:
    """A recording of the admin's clinic to try a model on, fetched through the access rules
    (404 otherwise)."""
    recording = get_recording_for_user(user, recording_id)
    if recording.session.child.clinic_id != clinic.pk:
        raise Http404("Not found.")
    return recording


# --- clinic validation (blind review) -------------------------------------------------------------
# A blind-review item is its rater's alone: anyone else (another therapist, an admin) gets a 404,
# so nobody answers for someone else. A model's validation page is for the staff of its clinic:
# admins and therapists (what it shows of children is filtered by ``children_visible_to``).


def get_review_item_for_rater(user: Actor, item_id: Any) -> ReviewItem:
    """The review item if ``user`` is its rater and still a therapist of the child; 404
    otherwise."""
    if not isinstance(user, User):
        raise Http404("Not found.")
    item: ReviewItem = _get_or_404(
        ReviewItem.objects.filter(rater=user).select_related(
            "segment__run__recording__session", "child"
        ),
        item_id,
    )
    if not is_therapist_of(user, item.child):
        raise Http404("Not found.")
    return item


def get_version_for_clinic_staff(user: Actor, version_id: Any) -> EmotionModelVersion:
    """The version if ``user`` is an admin or a therapist of its clinic; 404 otherwise."""
    staff_clinics = [c for c in clinic_ids_of(user) if is_staff_in(user, c)]
    version: EmotionModelVersion = _get_or_404(
        EmotionModelVersion.objects.filter(clinic_id__in=staff_clinics).select_related("clinic"),
        version_id,
    )
    return version


# --- listening practice: clips and sets (clinic material), assignments and answers ----------


def listening_clips_visible_to(user: Actor) -> QuerySet[Clip]:
    """The clinic's listening clips: staff of the clinic only (families hear them through an
    assignment, ``get_listening_clip_audio_for_user``)."""
    if not isinstance(user, User):
        return Clip.objects.none()
    return Clip.objects.filter(clinic_id__in=_staff_clinic_ids(user))


def listening_sets_visible_to(user: Actor) -> QuerySet[ListeningSet]:
    if not isinstance(user, User):
        return ListeningSet.objects.none()
    return ListeningSet.objects.filter(clinic_id__in=_staff_clinic_ids(user))


def get_listening_clip_for_user(user: Actor, clip_id: Any, *, write: bool = False) -> Clip:
    """``write``: re-tag or archive (therapists of the clinic)."""
    clip: Clip = _get_or_404(listening_clips_visible_to(user), clip_id)
    if write and not can_edit_exercises(user, clip.clinic_id):
        raise PermissionDenied("Only therapists can change listening clips.")
    return clip


def get_listening_clip_audio_for_user(user: Actor, clip_id: Any) -> Clip:
    """A clip the user may hear: staff of its clinic, or the family (or therapist) of a child
    given a set that holds it."""
    if not isinstance(user, User):
        raise Http404("Not found.")
    assigned = ListeningAssignment.objects.filter(child__in=children_visible_to(user))
    visible = Clip.objects.filter(
        Q(clinic_id__in=_staff_clinic_ids(user)) | Q(sets__in=assigned.values("listening_set_id"))
    ).distinct()
    clip: Clip = _get_or_404(visible, clip_id)
    return clip


def listening_assignments_visible_to(user: Actor) -> QuerySet[ListeningAssignment]:
    return ListeningAssignment.objects.filter(child__in=children_visible_to(user))


def get_listening_assignment_for_user(
    user: Actor, assignment_id: Any, *, practise: bool = False, write: bool = False
) -> ListeningAssignment:
    """As ``get_assignment_for_user``: ``practise`` answers (guardian or therapist of the
    child), ``write`` changes the assignment (therapist of the child)."""
    assignment: ListeningAssignment = _get_or_404(
        listening_assignments_visible_to(user).select_related(
            "listening_set", "child", "child__clinic"
        ),
        assignment_id,
    )
    if practise and not may_practise(user, assignment.child):
        raise PermissionDenied("Only the child's family and therapists can answer practice.")
    if write and not is_therapist_of(user, assignment.child):
        raise PermissionDenied("Only the child's therapists can change listening practice.")
    return assignment


def listening_answers_visible_to(user: Actor) -> QuerySet[ListeningAnswer]:
    return ListeningAnswer.objects.filter(child__in=children_visible_to(user))
