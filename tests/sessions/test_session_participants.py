"""Who took part in a session: other children and therapists of the same clinic, set on the
new-session/edit form and the API, and what the analysis expects from them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.voices.selectors import expected_speakers
from sessions.models import AuditEvent, Role, TherapySession
from tests.conftest import Cast
from tests.factories import ChildFactory, member

pytestmark = pytest.mark.django_db


def test_new_session_form_records_other_children_and_therapists(client: Any, cast: Cast) -> None:
    client.force_login(cast.therapist)
    url = reverse("session_create", args=[cast.child.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Other children in this session" in page.content.decode()
    response = client.post(
        url,
        {
            "date": "2026-11-30",
            "kind": "group",
            "title": "Group",
            "notes": "",
            "other_children": [str(cast.other_child.pk)],
            "other_therapists": [str(cast.other_therapist.pk)],
        },
    )
    assert response.status_code == 302, response.content
    session = TherapySession.objects.exclude(pk=cast.session.pk).get(child=cast.child)
    assert [c.pk for c in session.participant_children()] == [cast.child.pk, cast.other_child.pk]
    assert [t.pk for t in session.participant_therapists()] == [
        cast.therapist.pk,
        cast.other_therapist.pk,
    ]
    assert expected_speakers(session) == 4
    event = AuditEvent.objects.get(object_type="therapysession", action="create")
    assert event.detail == {"participants": ["other_children", "other_therapists"]}


def test_a_child_of_another_clinic_is_not_offered_and_refused(client: Any, cast: Cast) -> None:
    stranger = ChildFactory.create(clinic=cast.other_clinic, given_name="Zed")
    client.force_login(cast.therapist)
    url = reverse("session_create", args=[cast.child.pk])
    assert "Zed" not in client.get(url).content.decode()
    response = client.post(
        url, {"date": "2026-11-30", "kind": "group", "other_children": [str(stranger.pk)]}
    )
    assert response.status_code == 200  # the form again, with the error; nothing stored
    assert "Select a valid choice" in response.content.decode()
    assert TherapySession.objects.filter(child=cast.child).count() == 1


def test_editing_changes_participants_and_audits_field_names_only(client: Any, cast: Cast) -> None:
    client.force_login(cast.therapist)
    url = reverse("session_edit", args=[cast.session.pk])
    data = {
        "date": cast.session.date.isoformat(),
        "kind": cast.session.kind,
        "title": cast.session.title,
        "notes": cast.session.notes,
        "other_children": [str(cast.other_child.pk)],
    }
    assert client.post(url, data).status_code == 302
    assert list(cast.session.other_children.all()) == [cast.other_child]
    event = AuditEvent.objects.get(object_type="therapysession", action="update")
    assert event.detail == {"fields": ["other_children"]}
    # The edit form shows who is set; clearing them works too.
    html = client.get(url).content.decode()
    assert re.search(rf'value="{cast.other_child.pk}"[^>]*checked', html)
    data.pop("other_children")
    assert client.post(url, data).status_code == 302
    assert not cast.session.other_children.exists()


def test_api_creates_a_group_session_and_refuses_strangers(cast: Cast) -> None:
    api = APIClient()
    api.force_authenticate(cast.therapist)
    stranger = member(cast.other_clinic, Role.THERAPIST, email="zoe@far.test")
    url = reverse("api-session-list")
    body = {
        "child": str(cast.child.pk),
        "date": "2026-11-30",
        "kind": "group",
        "other_children": [str(cast.other_child.pk)],
        "other_therapists": [str(stranger.pk)],
    }
    refused = api.post(url, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["other_therapists"] == [
        "Only therapists of this clinic can take part."
    ]
    assert TherapySession.objects.filter(child=cast.child).count() == 1
    body["other_therapists"] = [str(cast.other_therapist.pk)]
    created = api.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["other_children"] == [str(cast.other_child.pk)]
    assert created.json()["other_therapists"] == [str(cast.other_therapist.pk)]
    listed = api.get(url).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert any(r["other_children"] == [str(cast.other_child.pk)] for r in rows)


def test_a_session_is_created_only_by_a_signed_in_therapist(cast: Cast) -> None:
    """The service narrows the request's user itself: an anonymous actor creates nothing."""
    import datetime as dt

    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from sessions import services

    before = TherapySession.objects.count()
    with pytest.raises(PermissionDenied):
        services.session_create(
            child=cast.child, therapist=AnonymousUser(), date=dt.date(2026, 12, 1), kind="group"
        )
    assert TherapySession.objects.count() == before
    made = services.session_create(
        child=cast.child, therapist=cast.therapist, date=dt.date(2026, 12, 1), kind="group"
    )
    assert made.therapist == cast.therapist
    assert AuditEvent.objects.filter(actor=cast.therapist, object_id=str(made.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_migrations_are_reversible() -> None:
    call_command("migrate", "analysis", "0004", verbosity=0)
    call_command("migrate", "therapy_sessions", "0004", verbosity=0)
    call_command("migrate", "workspace", "0003", verbosity=0)
    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert {"analysis_childvoiceprint", "analysis_speakerlane", "analysis_lanenaming"} <= set(
        tables
    )
