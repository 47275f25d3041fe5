"""Writes to the therapy domain. Each service validates, writes and records the audit entry."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from sessions import audit
from sessions.models import (
    Child,
    Clinic,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    TherapySession,
    User,
)
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in


class ParticipantError(ValueError):
    """Someone named as taking part who may not (another clinic, not a therapist)."""


def participant_candidates(
    *, child: Child, therapist: Actor | None
) -> tuple[QuerySet[Child], QuerySet[User]]:
    """(children, therapists) who may be named as also taking part in a session of ``child``
    led by ``therapist``: the other children and therapists of the child's clinic."""
    children = Child.objects.filter(clinic=child.clinic).exclude(pk=child.pk)
    therapists = User.objects.filter(
        memberships__clinic=child.clinic, memberships__role=Role.THERAPIST
    ).distinct()
    lead = signed_in(therapist)
    if lead is not None:
        therapists = therapists.exclude(pk=lead.pk)
    return children, therapists


def _set_participants(
    session: TherapySession,
    other_children: Iterable[Child] | None,
    other_therapists: Iterable[User] | None,
) -> list[str]:
    """Replace who else took part; returns the names of the fields that changed."""
    children_ok, therapists_ok = participant_candidates(
        child=session.child, therapist=session.therapist
    )
    changed = []
    if other_children is not None:
        wanted = {c.pk for c in other_children}
        if wanted - set(children_ok.filter(pk__in=wanted).values_list("pk", flat=True)):
            raise ParticipantError("Only other children of this clinic can take part.")
        if wanted != set(session.other_children.values_list("pk", flat=True)):
            session.other_children.set(list(children_ok.filter(pk__in=wanted)))
            changed.append("other_children")
    if other_therapists is not None:
        wanted = {t.pk for t in other_therapists}
        if wanted - set(therapists_ok.filter(pk__in=wanted).values_list("pk", flat=True)):
            raise ParticipantError("Only therapists of this clinic can take part.")
        if wanted != set(session.other_therapists.values_list("pk", flat=True)):
            session.other_therapists.set(list(therapists_ok.filter(pk__in=wanted)))
            changed.append("other_therapists")
    return changed


@transaction.atomic
def session_create(
    *,
    child: Child,
    therapist: Actor,
    date: dt.date,
    kind: str,
    title: str = "",
    notes: str = "",
    other_children: Iterable[Child] | None = None,
    other_therapists: Iterable[User] | None = None,
    request: HttpRequest | None = None,
) -> TherapySession:
    """Create a therapy session for ``child``, with who else took part. Raises
    ParticipantError (nothing is created) for a participant of another clinic. Running twice
    creates two sessions. ``therapist`` is the signed-in person who leads it (the views and
    the API ask for a login first; an anonymous actor is refused, nothing is created)."""
    lead = signed_in(therapist)
    if lead is None:
        raise PermissionDenied("Only a signed-in therapist can create a session.")
    session = TherapySession.objects.create(
        child=child, therapist=lead, date=date, kind=kind, title=title, notes=notes
    )
    participants = _set_participants(session, other_children, other_therapists)
    audit.record(
        actor=lead,
        action=AuditAction.CREATE,
        obj=session,
        child=child,
        request=request,
        detail={"participants": participants} if participants else None,
    )
    return session


@transaction.atomic
def session_update(
    *,
    session: TherapySession,
    actor: Actor | None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> TherapySession:
    """Change a session's date, kind, title, notes or who else took part; the audit entry
    names the fields only. Raises ParticipantError (nothing changes) for a participant of
    another clinic."""
    allowed = {"date", "kind", "title", "notes"}
    changed = sorted(k for k, v in fields.items() if k in allowed and getattr(session, k) != v)
    for name in changed:
        setattr(session, name, fields[name])
    if changed:
        session.save(update_fields=[*changed, "updated_at"])
    participants = _set_participants(
        session, fields.get("other_children"), fields.get("other_therapists")
    )
    changed = sorted([*changed, *participants])
    if changed:
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=session,
            child=session.child,
            request=request,
            detail={"fields": changed},
        )
    return session


@transaction.atomic
def child_create(
    *,
    clinic: Clinic,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> Child:
    child = Child.objects.create(
        clinic=clinic, given_name=given_name, family_name=family_name, date_of_birth=date_of_birth
    )
    audit.record(actor=actor, action=AuditAction.CREATE, obj=child, child=child, request=request)
    return child


@transaction.atomic
def child_set_assignments(
    *,
    child: Child,
    therapists: list[User],
    guardians: list[User],
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> Child:
    """Replace who treats and who cares for ``child``; only members of its clinic qualify."""
    members = Membership.objects.filter(clinic=child.clinic)
    therapist_ids = set(members.filter(role=Role.THERAPIST).values_list("user_id", flat=True))
    guardian_ids = set(members.filter(role=Role.GUARDIAN).values_list("user_id", flat=True))
    if any(t.pk not in therapist_ids for t in therapists):
        raise ValueError("Only therapists of this clinic can be assigned.")
    if any(g.pk not in guardian_ids for g in guardians):
        raise ValueError("Only guardians registered with this clinic can be linked.")
    child.therapists.set(therapists)
    child.guardians.set(guardians)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=child,
        child=child,
        request=request,
        detail={"therapists": len(therapists), "guardians": len(guardians)},
    )
    return child


@transaction.atomic
def member_create(
    *,
    clinic: Clinic,
    email: str,
    full_name: str,
    role: str,
    actor: Actor | None,
    password: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create (or attach an existing) account to ``clinic`` with ``role``, without asking.

    Only for the operator's ``create_clinic`` (the first admin of a new clinic). The console
    never attaches anyone: it sends an invitation (``member_invite``) that its holder accepts.
    """
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
        if password is None:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    if Membership.objects.filter(user=user, clinic=clinic).exists():
        raise ValueError("This person already has an account in this clinic.")
    Membership.objects.create(user=user, clinic=clinic, role=role)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="membership",
        object_id=user.pk,
        clinic_id=clinic.pk,
        request=request,
        detail={"role": role},
    )
    return user


# --- invitations -------------------------------------------------------------------------------

INVITATION_VALID_DAYS = 14


class InvitationRefused(ValueError):
    """An invitation the console cannot send; the message says why in plain words."""


def _send_invitation(*, email: str, clinic_name: str, role_label: str, link: str) -> None:
    send_mail(
        subject=f"{clinic_name} invites you to SER Portal",
        message=(
            f"{clinic_name} invites you to join them on SER Portal as {role_label}.\n\n"
            f"To accept or decline, open this link and log in with this e-mail address:\n"
            f"{link}\n\n"
            "If you have no password yet, choose one with 'Forgot your password?' on the log-in "
            f"page first. The invitation is valid for {INVITATION_VALID_DAYS} days. If you did "
            "not expect it, ignore this e-mail: nothing changes until you accept."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


@transaction.atomic
def member_invite(
    *,
    clinic: Clinic,
    email: str,
    full_name: str,
    role: str,
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """Invite whoever holds ``email`` to ``clinic`` with ``role``, by e-mail; returns the
    invitation and the key of its link (only its hash is stored).

    The same thing happens whether or not an account with that address exists (a new address
    gets an account without a password and without any clinic, which its holder activates
    through "Forgot your password?"), so the console learns nothing about other clinics'
    people. Inviting the same address again replaces the pending invitation (a new link).
    Raises InvitationRefused only for people already in this clinic, whom the admin sees anyway.
    """
    email = User.objects.normalize_email(email).strip()
    if Membership.objects.filter(clinic=clinic, user__email__iexact=email).exists():
        raise InvitationRefused("This person already has an account in this clinic.")
    if not User.objects.filter(email__iexact=email).exists():
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    now = timezone.now()
    Invitation.objects.filter(
        clinic=clinic, email__iexact=email, status=InvitationStatus.PENDING
    ).update(status=InvitationStatus.REVOKED, answered_at=now, updated_at=now)
    key = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        clinic=clinic,
        email=email,
        full_name=full_name,
        role=role,
        invited_by=signed_in(actor),
        key_hash=Invitation.hash_key(key),
        expires_at=now + dt.timedelta(days=INVITATION_VALID_DAYS),
    )
    path = reverse("invitation", kwargs={"key": key})
    link = request.build_absolute_uri(path) if request is not None else path
    transaction.on_commit(
        partial(
            _send_invitation,
            email=email,
            clinic_name=clinic.name,
            role_label=str(Role(role).label).lower(),
            link=link,
        )
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=invitation,
        clinic_id=clinic.pk,
        request=request,
        detail={"role": role},
    )
    return invitation, key


@transaction.atomic
def invitation_answer(
    *, invitation: Invitation, user: User, accept: bool, request: HttpRequest | None = None
) -> Membership | None:
    """Accept (a membership with the invited role) or decline a pending invitation addressed to
    ``user``. Answering twice changes nothing: the second call finds it answered."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if (
        locked.status != InvitationStatus.PENDING
        or locked.expires_at <= timezone.now()
        or locked.email.lower() != user.email.lower()
    ):
        raise InvitationRefused("This invitation is no longer open.")
    membership = None
    if accept:
        membership, _ = Membership.objects.get_or_create(
            user=user, clinic_id=locked.clinic_id, defaults={"role": locked.role}
        )
        # Cached roles of this request must see the new clinic.
        user.__dict__.pop("_ser_roles_by_clinic", None)
    now = timezone.now()
    Invitation.objects.filter(pk=locked.pk).update(
        status=InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED,
        answered_at=now,
        updated_at=now,
    )
    invitation.refresh_from_db()
    audit.record(
        actor=user,
        action=AuditAction.UPDATE,
        obj=invitation,
        clinic_id=locked.clinic_id,
        request=request,
        detail={"answer": "accepted" if accept else "declined", "role": locked.role},
    )
    return membership
