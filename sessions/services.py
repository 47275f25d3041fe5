"""Writes to the therapy domain. Each service validates, writes and records the audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from sessions import audit
from sessions.models import Child, Clinic, Membership, Role, TherapySession, User
from sessions.models.audit import AuditAction


@transaction.atomic
def session_create(
    *,
    child: Child,
    therapist: User | Any,
    date: dt.date,
    kind: str,
    title: str = "",
    notes: str = "",
    request: HttpRequest | None = None,
) -> TherapySession:
    """Create a therapy session for ``child``. Running twice creates two sessions."""
    session = TherapySession.objects.create(
        child=child, therapist=therapist, date=date, kind=kind, title=title, notes=notes
    )
    audit.record(
        actor=therapist, action=AuditAction.CREATE, obj=session, child=child, request=request
    )
    return session


@transaction.atomic
def session_update(
    *,
    session: TherapySession,
    actor: User | Any,
    request: HttpRequest | None = None,
    **fields: Any,
) -> TherapySession:
    """Change a session's date, kind, title or notes; the audit entry names the fields only."""
    allowed = {"date", "kind", "title", "notes"}
    changed = sorted(k for k, v in fields.items() if k in allowed and getattr(session, k) != v)
    for name in changed:
        setattr(session, name, fields[name])
    if changed:
        session.save(update_fields=[*changed, "updated_at"])
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
    actor: User | Any,
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
    actor: User | Any,
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
    actor: User | Any,
    password: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create (or attach an existing) account to ``clinic`` with ``role``."""
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
