"""Reading the audit log for a compliance review: the console page, its CSV export and
``GET /api/v1/audit/`` filter the same way, through ``AuditFilterForm`` and ``events``.

Writing entries is sessions.audit. Entries refer to children by id (no foreign key, so erasing a
child leaves the trail); the log shows the code of each child that still exists, and the full id
of one that was erased.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from sessions.models import Child, Clinic, User
from sessions.models.audit import AuditAction, AuditEvent

# Entries about an account (logins, failed logins, API tokens) hold the account's id.
ACCOUNT_OBJECTS = ("user", "api_token")

CSV_COLUMNS = [
    "when_utc",
    "user",
    "action",
    "object_type",
    "object_id",
    "account",
    "child_code",
    "child_id",
    "ip_address",
    "path",
    "detail",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except (ValueError, AttributeError):
        return None


class AuditFilterForm(forms.Form):
    """The filters of the log. Every field is optional; an empty form is the whole log."""

    user = forms.CharField(
        required=False,
        max_length=254,
        label="User",
        help_text="E-mail address (or part of it) or account id: what the person did, and "
        "logins and failed logins of their account.",
    )
    child = forms.CharField(
        required=False,
        max_length=64,
        label="Child",
        help_text="The child's code, or the id of a child whose data was erased.",
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "All actions"), *AuditAction.choices], label="Action"
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def clean_child(self) -> uuid.UUID | None:
        value = self.cleaned_data["child"].strip()
        if not value:
            return None
        child = Child.objects.filter(clinic=self.clinic, code__iexact=value).first()
        if child is not None:
            return child.pk
        as_id = _as_uuid(value)
        if as_id is not None:
            # A child of this clinic, or one that was erased (its entries stay in this log).
            return as_id
        raise forms.ValidationError(f"No child with the code “{value}” in {self.clinic.name}.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def applied(self) -> dict[str, str]:
        """The filters in use, as the query string states them (for links and the export)."""
        if not self.is_valid():
            return {}
        return {
            name: str(self.data.get(name, "")).strip()
            for name in self.fields
            if str(self.data.get(name, "")).strip()
        }


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def events(*, clinic: Clinic, filters: dict[str, Any] | None = None) -> QuerySet[AuditEvent]:
    """The clinic's entries, newest first, narrowed by ``filters`` (an ``AuditFilterForm``'s
    cleaned data). Dates are whole days, both included, in the portal's time zone."""
    filters = filters or {}
    queryset = AuditEvent.objects.filter(clinic_id=clinic.pk)
    user = (filters.get("user") or "").strip()
    if user:
        # What the person did, and what happened to their account (failed logins name the
        # account, not an actor): the clinic's members whose e-mail matches.
        actor_id = _as_uuid(user)
        members = User.objects.filter(memberships__clinic=clinic).filter(
            Q(pk=actor_id) if actor_id else Q(email__icontains=user)
        )
        accounts = [str(pk) for pk in members.values_list("pk", flat=True)]
        acted = Q(actor_id=actor_id) if actor_id else Q(actor_label__icontains=user)
        queryset = queryset.filter(
            acted | Q(object_type__in=ACCOUNT_OBJECTS, object_id__in=accounts)
        )
    if filters.get("child"):
        queryset = queryset.filter(child_id=filters["child"])
    if filters.get("action"):
        queryset = queryset.filter(action=filters["action"])
    if filters.get("since"):
        queryset = queryset.filter(created_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        queryset = queryset.filter(
            created_at__lt=_day_start(filters["until"] + dt.timedelta(days=1))
        )
    return queryset.order_by("-created_at", "-id")


def annotate(entries: Iterable[AuditEvent], *, clinic: Clinic) -> list[AuditEvent]:
    """Give each entry ``child_code`` (empty for an erased child) and ``account_email`` (the
    e-mail of the clinic member an account entry is about), with two queries in all."""
    entries = list(entries)
    child_ids = {e.child_id for e in entries if e.child_id}
    codes = {
        pk: code
        for pk, code in Child.objects.filter(pk__in=child_ids, clinic=clinic).values_list(
            "pk", "code"
        )
    }
    account_ids = {
        e.object_id for e in entries if e.object_type in ACCOUNT_OBJECTS and _as_uuid(e.object_id)
    }
    emails = {
        str(pk): email
        for pk, email in User.objects.filter(
            pk__in=account_ids, memberships__clinic=clinic
        ).values_list("pk", "email")
    }
    for entry in entries:
        entry.child_code = codes.get(entry.child_id, "") if entry.child_id else ""  # type: ignore[attr-defined]
        entry.account_email = emails.get(entry.object_id, "")  # type: ignore[attr-defined]
    return entries


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: a cell a spreadsheet would run as a formula is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(queryset: QuerySet[AuditEvent], *, clinic: Clinic) -> Iterator[str]:
    """The entries as CSV lines (a header first), read in batches so a long log streams."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    batch: list[AuditEvent] = []
    for entry in queryset.iterator(chunk_size=1000):
        batch.append(entry)
        if len(batch) == 1000:
            yield from _csv_batch(writer, batch, clinic)
            batch = []
    yield from _csv_batch(writer, batch, clinic)


def _csv_batch(writer: Any, batch: list[AuditEvent], clinic: Clinic) -> Iterator[str]:
    for entry in annotate(batch, clinic=clinic):
        row = [
            entry.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_label,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.account_email,  # type: ignore[attr-defined]
            entry.child_code,  # type: ignore[attr-defined]
            entry.child_id or "",
            entry.ip_address or "",
            entry.path,
            json.dumps(entry.detail, sort_keys=True) if entry.detail else "",
        ]
        yield writer.writerow([_cell(value) for value in row])
