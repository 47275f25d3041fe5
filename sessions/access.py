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
403 (``PermissionDenied``) when they may see it but not perform the action.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

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


def _clinic_ids(user: Any, role: Role) -> QuerySet[Membership, Any]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none().values_list("clinic_id", flat=True)
    return Membership.objects.filter(user=user, role=role).values_list("clinic_id", flat=True)


def _roles_by_clinic(user: Any) -> dict[str, str]:
    """The user's role in each clinic (one membership per clinic), by clinic id."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached: dict[str, str] | None = getattr(user, "_ser_roles_by_clinic", None)
    if cached is None:
        cached = {
            str(clinic_id): role
            for clinic_id, role in Membership.objects.filter(user=user).values_list(
                "clinic_id", "role"
            )
        }
        user._ser_roles_by_clinic = cached
    return cached


def roles_of(user: Any) -> set[str]:
    """Every role the user holds in any clinic. Only for choosing menus and start pages: what a
    role allows is always decided per clinic (``role_in``, ``is_staff_in``), because one person
    may be a therapist in one clinic and a parent in another."""
    return set(_roles_by_clinic(user).values())


def role_in(user: Any, clinic_id: UUID | str | None) -> str | None:
    """The user's role in that clinic, or None."""
    if clinic_id is None:
        return None
    return _roles_by_clinic(user).get(str(clinic_id))


def clinic_ids_of(user: Any) -> list[str]:
    """The clinics the user belongs to (for account events in each clinic's audit log)."""
    return sorted(_roles_by_clinic(user))


def is_clinic_admin(user: Any) -> bool:
    return Role.CLINIC_ADMIN in roles_of(user)


def is_therapist(user: Any) -> bool:
    return Role.THERAPIST in roles_of(user)


def is_guardian(user: Any) -> bool:
    return Role.GUARDIAN in roles_of(user)


def is_staff_member(user: Any) -> bool:
    """Staff in some clinic. Account-wide on purpose: the two-factor rule protects the account,
    and an account that is staff anywhere must use it everywhere."""
    return bool(roles_of(user) & {Role.CLINIC_ADMIN, Role.THERAPIST})


def is_staff_in(user: Any, clinic_id: UUID | str | None) -> bool:
    """Therapist or clinic admin of that clinic (a parent there who works elsewhere is not)."""
    return role_in(user, clinic_id) in {Role.CLINIC_ADMIN, Role.THERAPIST}


def is_therapist_in(user: Any, clinic_id: UUID | str | None) -> bool:
    return role_in(user, clinic_id) == Role.THERAPIST


def admin_clinics(user: Any) -> QuerySet[Clinic]:
    return Clinic.objects.filter(id__in=_clinic_ids(user, Role.CLINIC_ADMIN))


# --- children ---------------------------------------------------------------------------------


def children_visible_to(user: Any) -> QuerySet[Child]:
    if not getattr(user, "is_authenticated", False):
        return Child.objects.none()
    return Child.objects.filter(
        Q(clinic_id__in=_clinic_ids(user, Role.CLINIC_ADMIN))
        | Q(therapists=user, clinic_id__in=_clinic_ids(user, Role.THERAPIST))
        | Q(guardians=user, clinic_id__in=_clinic_ids(user, Role.GUARDIAN))
    ).distinct()


def children_editable_by(user: Any) -> QuerySet[Child]:
    """Children whose clinical data (sessions, recordings, corrections) the user may change."""
    if not getattr(user, "is_authenticated", False):
        return Child.objects.none()
    return Child.objects.filter(
        therapists=user, clinic_id__in=_clinic_ids(user, Role.THERAPIST)
    ).distinct()


def is_therapist_of(user: Any, child: Child) -> bool:
    return children_editable_by(user).filter(pk=child.pk).exists()


def is_guardian_of(user: Any, child: Child) -> bool:
    return Child.objects.filter(
        pk=child.pk, guardians=user, clinic_id__in=_clinic_ids(user, Role.GUARDIAN)
    ).exists()


def is_admin_of_clinic(user: Any, clinic_id: UUID | str) -> bool:
    return Membership.objects.filter(
        user=user, clinic_id=clinic_id, role=Role.CLINIC_ADMIN
    ).exists()


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as exc:
        # A malformed (forged) id is as unknown as a missing one.
        raise Http404("Not found.") from exc


def get_child_for_user(user: Any, child_id: Any, *, write: bool = False) -> Child:
    child: Child = _get_or_404(children_visible_to(user).select_related("clinic"), child_id)
    if write and not is_therapist_of(user, child):
        raise PermissionDenied("You can view this child but not change their records.")
    return child


# --- sessions and recordings ------------------------------------------------------------------


def sessions_visible_to(user: Any) -> QuerySet[TherapySession]:
    """Guardians never see sessions: only released reports and exercises reach families."""
    if not getattr(user, "is_authenticated", False):
        return TherapySession.objects.none()
    return TherapySession.objects.filter(
        Q(child__clinic_id__in=_clinic_ids(user, Role.CLINIC_ADMIN))
        | Q(child__in=children_editable_by(user))
    ).distinct()


def get_session_for_user(user: Any, session_id: Any, *, write: bool = False) -> TherapySession:
    session: TherapySession = _get_or_404(
        sessions_visible_to(user).select_related("child", "child__clinic", "therapist"),
        session_id,
    )
    if write and not is_therapist_of(user, session.child):
        raise PermissionDenied("You can view this session but not change it.")
    return session


def recordings_visible_to(user: Any) -> QuerySet[Recording]:
    return Recording.objects.filter(session__in=sessions_visible_to(user))


def get_recording_for_user(user: Any, recording_id: Any, *, write: bool = False) -> Recording:
    recording: Recording = _get_or_404(
        recordings_visible_to(user).select_related("session", "session__child"), recording_id
    )
    if write and not is_therapist_of(user, recording.session.child):
        raise PermissionDenied("You can view this recording but not change it.")
    return recording


# --- people -----------------------------------------------------------------------------------


def users_manageable_by(user: Any) -> QuerySet[User]:
    """Accounts a clinic admin manages: members of their clinics."""
    return User.objects.filter(memberships__clinic__in=admin_clinics(user)).distinct()


def require_clinic_admin(user: Any) -> Clinic:
    """The clinic an admin acts for; 404 for everyone else (the console is not theirs to know)."""
    clinic = admin_clinics(user).first()
    if clinic is None:
        raise Http404("Not found.")
    return clinic


def get_invitation_for_user(user: Any, key: str) -> Invitation:
    """The open invitation behind ``key``, if it is addressed to ``user``; 404 otherwise (an
    answered, expired or someone else's invitation is as unknown as a wrong key)."""
    from django.utils import timezone

    if not getattr(user, "is_authenticated", False):
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
