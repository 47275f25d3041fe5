"""The audit log for a compliance review: filters (user, child, action, dates), the child's code,
counts, CSV export, and the same log as ``GET /api/v1/audit/`` for clinic admins."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.models import AuditEvent
from sessions.models.audit import AuditAction
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _event(cast: Cast, *, days_ago: int = 0, **fields: Any) -> AuditEvent:
    fields.setdefault("action", AuditAction.VIEW)
    fields.setdefault("object_type", "child")
    fields.setdefault("actor_label", "alice@sunny.test")
    fields.setdefault("clinic_id", cast.clinic.pk)
    event = AuditEvent.objects.create(**fields)
    if days_ago:
        AuditEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - dt.timedelta(days=days_ago)
        )
    return event


def _streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def _ids(response: Any) -> list[str]:
    return [e.object_id for e in response.context["page"].object_list]


def _cast_log(cast: Cast) -> None:
    """A small log: two people, two children (one erased), three actions, three days."""
    AuditEvent.objects.all().delete()
    _event(cast, object_id="a-view-mia", child_id=cast.child.pk, days_ago=10)
    _event(
        cast,
        object_id="a-export-mia",
        action=AuditAction.EXPORT,
        child_id=cast.child.pk,
        days_ago=5,
    )
    _event(
        cast, object_id="b-view-noah", actor_label="bob@sunny.test", child_id=cast.other_child.pk
    )
    _event(cast, object_id="b-view-erased", actor_label="bob@sunny.test", child_id=ERASED)
    _event(cast, object_id="other-clinic", clinic_id=cast.other_clinic.pk, child_id=cast.child.pk)


ERASED = uuid.UUID("0b0e3c9e-7a1f-4a52-9f77-5b1c6f3e9d21")


def test_the_log_is_filtered_by_user_child_action_and_dates(cast: Cast) -> None:
    _cast_log(cast)
    client = _client(cast.admin)
    url = reverse("console_audit")
    today = timezone.localdate()

    def ids(**query: Any) -> set[str]:
        response = client.get(url, query)
        assert response.status_code == 200
        return {i for i in _ids(response) if i}

    assert ids(user="bob@") == {"b-view-noah", "b-view-erased"}
    assert ids(user="ALICE@SUNNY.TEST") == {"a-view-mia", "a-export-mia"}
    assert ids(child=cast.child.code) == {"a-view-mia", "a-export-mia"}
    assert ids(child=cast.child.code.lower()) == {"a-view-mia", "a-export-mia"}
    assert ids(child=str(ERASED)) == {"b-view-erased"}
    assert ids(action="export") == {"a-export-mia"}
    assert ids(
        since=str(today - dt.timedelta(days=6)), until=str(today - dt.timedelta(days=4))
    ) == {"a-export-mia"}
    assert ids(until=str(today - dt.timedelta(days=7))) == {"a-view-mia"}
    assert ids(user="alice", action="view", child=cast.child.code) == {"a-view-mia"}


def test_filtering_by_user_also_finds_failed_logins_of_their_account(cast: Cast) -> None:
    AuditEvent.objects.all().delete()
    Client(REMOTE_ADDR="192.0.2.9").post(
        reverse("account_login"), {"login": cast.therapist.email, "password": "wrong-pass"}
    )
    _event(cast, object_id="someone-else", actor_label=cast.other_therapist.email)
    client = _client(cast.admin)
    by_email = client.get(reverse("console_audit"), {"user": "alice@"})
    failed = [e for e in by_email.context["page"].object_list if e.action == "login_failed"]
    assert [e.object_id for e in failed] == [str(cast.therapist.pk)]
    assert "someone-else" not in _ids(by_email)
    by_id = client.get(reverse("console_audit"), {"user": str(cast.therapist.pk)})
    assert [e.action for e in by_id.context["page"].object_list] == ["login_failed"]
    # Another clinic's admin cannot find this clinic's member by e-mail.
    other = _client(cast.other_admin).get(reverse("console_audit"), {"user": "alice@"})
    assert _ids(other) == []


def test_the_log_shows_the_childs_code_and_an_erased_childs_full_id(cast: Cast) -> None:
    _cast_log(cast)
    html = _client(cast.admin).get(reverse("console_audit")).content.decode()
    assert f">{cast.child.code}</a>" in html
    assert f">{cast.other_child.code}</a>" in html
    assert f'erased child <code class="audit-id">{ERASED}</code>' in html
    assert reverse("child_detail", args=[cast.child.pk]) in html


def test_invalid_filters_are_explained_beside_the_field_and_show_no_entries(cast: Cast) -> None:
    _cast_log(cast)
    client = _client(cast.admin)
    unknown = client.get(reverse("console_audit"), {"child": "NOPE-1"})
    assert unknown.status_code == 200
    assert "No child with the code “NOPE-1” in Sunny Clinic." in unknown.content.decode()
    assert _ids(unknown) == []
    backwards = client.get(reverse("console_audit"), {"since": "2026-03-02", "until": "2026-03-01"})
    assert "The end date is before the start date." in backwards.content.decode()
    assert _ids(backwards) == []
    # The input stays in the form.
    assert 'value="2026-03-02"' in backwards.content.decode()
    garbage = client.get(reverse("console_audit"), {"since": "yesterday", "action": "explode"})
    assert garbage.status_code == 200
    assert "Enter a valid date." in garbage.content.decode()
    # Another clinic's child is as unknown as a code that does not exist.
    other = _client(cast.other_admin).get(reverse("console_audit"), {"child": cast.child.code})
    assert "No child with the code" in other.content.decode()


def test_the_log_counts_entries_and_pages_keep_the_filters(cast: Cast) -> None:
    AuditEvent.objects.all().delete()
    for i in range(130):
        _event(cast, object_id=f"v{i:03d}")
    _event(cast, object_id="d1", action=AuditAction.DOWNLOAD)
    client = _client(cast.admin)
    first = client.get(reverse("console_audit"), {"action": "view"})
    html = first.content.decode()
    assert "Entries 1 to 100 of 130 matching the filters." in html
    assert 'href="?action=view&amp;page=2" rel="next"' in html
    second = client.get(reverse("console_audit"), {"action": "view", "page": "2"})
    assert "Entries 101 to 130 of 130 matching the filters." in second.content.decode()
    assert len(_ids(second)) == 30
    assert "d1" not in _ids(second)
    assert "Export 130 entries as CSV" in html
    # The export keeps the filters and drops the page.
    assert 'href="?action=view&amp;export=csv"' in html
    second_html = second.content.decode()
    assert 'href="?action=view&amp;export=csv"' in second_html


def test_the_csv_export_holds_every_filtered_entry_and_is_itself_logged(cast: Cast) -> None:
    _cast_log(cast)
    _event(cast, object_id="=HYPERLINK(1)", actor_label="bob@sunny.test")
    response = _client(cast.admin).get(reverse("console_audit"), {"user": "bob", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    assert {r["object_id"] for r in rows} == {"b-view-noah", "b-view-erased", "'=HYPERLINK(1)"}
    noah = next(r for r in rows if r["object_id"] == "b-view-noah")
    assert noah["child_code"] == cast.other_child.code
    assert noah["child_id"] == str(cast.other_child.pk)
    assert noah["user"] == "bob@sunny.test" and noah["action"] == "view"
    erased = next(r for r in rows if r["object_id"] == "b-view-erased")
    assert (erased["child_code"], erased["child_id"]) == ("", str(ERASED))
    export = AuditEvent.objects.get(action=AuditAction.EXPORT, object_type="audit_log")
    assert (export.actor, export.clinic_id) == (cast.admin, cast.clinic.pk)
    assert export.detail == {"count": 3, "filters": ["user"]}


def test_the_csv_export_of_a_long_log_streams_every_entry(cast: Cast) -> None:
    AuditEvent.objects.all().delete()
    AuditEvent.objects.bulk_create(
        AuditEvent(action="view", object_type="child", object_id=f"e{i}", clinic_id=cast.clinic.pk)
        for i in range(2500)
    )
    response = _client(cast.admin).get(reverse("console_audit"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    # The admin's own login is an entry too (its object id is arbitrary, so only ours count).
    expected = {f"e{i}" for i in range(2500)}
    assert {r["object_id"] for r in rows} & expected == expected
    assert len([r for r in rows if r["object_id"] in expected]) == 2500


def test_api_audit_log_is_for_clinic_admins_with_the_same_filters(cast: Cast) -> None:
    _cast_log(cast)
    url = reverse("api-audit-log")
    response = _api(cast.admin).get(url, {"user": "bob", "child": cast.other_child.code})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["object_id"] == "b-view-noah"
    assert entry["child_code"] == cast.other_child.code
    assert entry["child_id"] == str(cast.other_child.pk)
    everything = _api(cast.admin).get(url).json()
    assert "other-clinic" not in {e["object_id"] for e in everything["results"]}
    theirs = _api(cast.other_admin).get(url).json()
    assert {e["object_id"] for e in theirs["results"]} == {"other-clinic"}
    # Their clinic's log names the child only by id: it is not their child.
    assert theirs["results"][0]["child_code"] == ""
    for persona in ("therapist", "guardian", "other_therapist"):
        assert _api(cast.user(persona)).get(url).status_code == 404
    assert APIClient().get(url).status_code == 401


def test_api_audit_log_paginates_and_refuses_invalid_filters(cast: Cast) -> None:
    AuditEvent.objects.all().delete()
    for i in range(60):
        _event(cast, object_id=f"v{i}")
    client = _api(cast.admin)
    first = client.get(reverse("api-audit-log")).json()
    assert first["count"] == 60 and len(first["results"]) == 50 and first["next"]
    second = client.get(reverse("api-audit-log"), {"page": 2}).json()
    assert len(second["results"]) == 10
    bad = client.get(reverse("api-audit-log"), {"since": "2026-02-01", "until": "2026-01-01"})
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"until": ["The end date is before the start date."]}
    unknown = client.get(reverse("api-audit-log"), {"child": "NOPE-1"})
    assert unknown.status_code == 400
    assert "child" in unknown.json()["errors"]


def test_api_audit_log_is_in_the_openapi_schema(cast: Cast) -> None:
    schema = _api(cast.admin).get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/audit/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"user", "child", "action", "since", "until", "page"} <= names
    assert "404" in operation["responses"] and "400" in operation["responses"]
