"""Writing the audit log. Every read and write of a child's data goes through ``record``."""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sessions.models.accounts import User
from sessions.models.audit import AuditAction, AuditEvent
from sessions.types import Actor

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind TRUSTED_PROXY_COUNT proxies the client is the hop the outermost proxy appended;
    # anything left of it was written by the client and could be forged.
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    candidate = forwarded[-proxies] if 0 < proxies <= len(forwarded) else ""
    for ip in (candidate, request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(ip))
        except ValueError:
            continue
    return None


def record(
    *,
    actor: Actor | None,
    action: AuditAction | str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    child: Any = None,
    clinic_id: Any = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. ``detail`` must never carry audio, notes or names: ids and counts only."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower.split(".")[-1]
        object_id = object_id or obj.pk
    if child is not None and clinic_id is None:
        clinic_id = child.clinic_id
    # A signed-in person (a User), or nobody: an anonymous visitor, a worker, a command.
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=user.email if user is not None else "anonymous",
        action=str(action),
        object_type=object_type or "",
        object_id=str(object_id or ""),
        child_id=getattr(child, "pk", child),
        clinic_id=clinic_id,
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:200] if request else ""),
        path=(request.path[:300] if request else ""),
        detail=detail or {},
    )


def record_view(
    request: HttpRequest, obj: Any, *, child: Any, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """One VIEW entry, by the requesting user, for a page, form or API answer that shows
    ``obj`` (a session, report, attempt, ...) of ``child``. The API passes its Django request
    (``request._request``), whose user is the authenticated one."""
    return record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=obj,
        child=child,
        request=request,
        detail=detail,
    )


def record_child_view(
    request: HttpRequest, child: Any, *, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """One VIEW entry, by the requesting user, for a page or form that shows ``child``."""
    return record_view(request, child, child=child, detail=detail)


def record_consent_view(
    request: HttpRequest, child: Any, *, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """One VIEW entry, by the requesting user, for a page, form or API answer that shows
    ``child``'s consent records (staff's and the family's alike)."""
    return record(
        actor=request.user,
        action=AuditAction.VIEW,
        object_type="consentrecord",
        object_id=child.pk,
        child=child,
        request=request,
        detail=detail,
    )


def record_audio_access(
    *, actor: Actor | None, obj: Any, child: Any, request: HttpRequest
) -> AuditEvent | None:
    """Audit that ``actor`` receives audio of ``obj`` (a recording or a practice attempt).

    Called for every response that carries audio bytes, whatever its ``Range``: one entry per
    person and object per ``SER_AUDIO_AUDIT_WINDOW_S`` seconds, decided from the log itself
    (a player's range requests of one listen make one entry). Two requests racing may both
    write an entry, never neither. Returns the new entry, or None when one was recent.
    """
    window = settings.SER_AUDIO_AUDIT_WINDOW_S
    object_type = obj._meta.label_lower.split(".")[-1]
    if window > 0:
        recent = AuditEvent.objects.filter(
            actor=actor if isinstance(actor, User) else None,
            action=AuditAction.DOWNLOAD,
            object_type=object_type,
            object_id=str(obj.pk),
            created_at__gte=timezone.now() - timedelta(seconds=window),
        )
        if recent.exists():
            return None
    return record(
        actor=actor,
        action=AuditAction.DOWNLOAD,
        obj=obj,
        object_type=object_type,
        child=child,
        request=request,
    )


def record_login_failed(
    *,
    account: Any,
    request: HttpRequest | None,
    object_type: str = "user",
    detail: dict[str, Any] | None = None,
) -> list[AuditEvent]:
    """Audit a failed login. When the attempt names an existing ``account``, one entry goes to
    each clinic the account belongs to (by the account's id: its admins see attacks on their
    people); otherwise one entry without clinic holds only the fact and the address."""
    from sessions.models import Membership

    clinic_ids: list[Any] = (
        sorted(set(Membership.objects.filter(user=account).values_list("clinic_id", flat=True)))
        if account is not None
        else []
    )
    return [
        record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            object_type=object_type,
            object_id=account.pk if account is not None else None,
            clinic_id=clinic_id,
            request=request,
            detail=detail,
        )
        for clinic_id in clinic_ids or [None]
    ]


def record_list(
    *,
    actor: Actor | None,
    object_type: str,
    queryset: QuerySet[Any],
    clinic_field: str,
    request: HttpRequest | None = None,
) -> None:
    """Record a list read: one entry per clinic whose rows the list holds, with that clinic's
    count, so each clinic's log shows the reads of its own data (a person may belong to more
    than one clinic). An empty list holds no one's data and is recorded once, without a clinic.
    """
    counts = (
        queryset.order_by()
        .values_list(clinic_field)
        .annotate(n=Count("pk", distinct=True))
        .values_list(clinic_field, "n")
    )
    rows = list(counts)
    for clinic_id, count in rows or [(None, 0)]:
        record(
            actor=actor,
            action=AuditAction.LIST,
            object_type=object_type,
            clinic_id=clinic_id,
            request=request,
            detail={"count": count},
        )
