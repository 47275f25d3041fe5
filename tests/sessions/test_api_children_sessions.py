"""The children and sessions API: fields, pagination, filters, creation and who may do what."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions.models import TherapySession
from tests.conftest import Cast
from tests.factories import ChildFactory, TherapySessionFactory

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_children_list_fields_and_pagination_envelope(cast: Cast) -> None:
    body = client_for(cast.therapist).get("/api/v1/children/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["next"] is None
    row = body["results"][0]
    assert {"id", "code", "display_name"} <= set(row)
    assert row == {
        **row,
        "id": str(cast.child.pk),
        "code": cast.child.code,
        "display_name": cast.child.display_name,
    }


def test_children_list_is_paginated_by_fifty(cast: Cast) -> None:
    for _ in range(55):
        ChildFactory.create(clinic=cast.clinic)
    client = client_for(cast.admin)
    first = client.get("/api/v1/children/").json()
    assert first["count"] == 57
    assert len(first["results"]) == 50
    assert first["next"].endswith("/api/v1/children/?page=2")
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 7
    assert second["next"] is None
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 57


def test_child_detail(cast: Cast) -> None:
    response = client_for(cast.guardian).get(f"/api/v1/children/{cast.child.pk}/")
    assert response.status_code == 200
    assert response.json()["code"] == cast.child.code


@pytest.mark.parametrize("persona", ["other_therapist", "other_guardian", "other_admin"])
def test_child_detail_is_404_for_people_who_may_not_know_the_child(
    cast: Cast, persona: str
) -> None:
    response = client_for(cast.user(persona)).get(f"/api/v1/children/{cast.child.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_child_detail_with_a_malformed_id_is_404(cast: Cast) -> None:
    assert client_for(cast.admin).get("/api/v1/children/not-a-uuid/").status_code == 404


def test_sessions_filtered_by_child(cast: Cast) -> None:
    other = TherapySessionFactory.create(child=cast.other_child, therapist=cast.other_therapist)
    client = client_for(cast.admin)
    assert client.get("/api/v1/sessions/").json()["count"] == 2
    body = client.get("/api/v1/sessions/", {"child": str(cast.child.pk)}).json()
    assert [row["id"] for row in body["results"]] == [str(cast.session.pk)]
    body = client.get("/api/v1/sessions/", {"child": str(cast.other_child.pk)}).json()
    assert [row["id"] for row in body["results"]] == [str(other.pk)]


@pytest.mark.parametrize("child", ["other", "unknown", "garbage"])
def test_sessions_filter_on_a_child_you_cannot_see_is_404(cast: Cast, child: str) -> None:
    child_id = {"other": str(cast.other_child.pk), "unknown": str(uuid.uuid4()), "garbage": "x'"}[
        child
    ]
    response = client_for(cast.therapist).get("/api/v1/sessions/", {"child": child_id})
    assert response.status_code == 404


def test_sessions_are_newest_first(cast: Cast) -> None:
    older = TherapySessionFactory.create(
        child=cast.child, therapist=cast.therapist, date=cast.session.date - dt.timedelta(days=7)
    )
    body = client_for(cast.therapist).get("/api/v1/sessions/").json()
    assert [row["id"] for row in body["results"]] == [str(cast.session.pk), str(older.pk)]


def test_session_detail_for_the_therapist_includes_notes(cast: Cast) -> None:
    body = client_for(cast.therapist).get(f"/api/v1/sessions/{cast.session.pk}/").json()
    assert body["id"] == str(cast.session.pk)
    assert body["child"] == str(cast.child.pk)
    assert body["therapist"] == str(cast.therapist.pk)
    assert body["notes"] == "Private therapist notes"


def test_clinic_admin_reads_sessions_without_free_text_notes(cast: Cast) -> None:
    client = client_for(cast.admin)
    detail = client.get(f"/api/v1/sessions/{cast.session.pk}/").json()
    assert "notes" not in detail
    listing = client.get("/api/v1/sessions/").json()
    assert all("notes" not in row for row in listing["results"])


def test_guardians_see_no_sessions(cast: Cast) -> None:
    client = client_for(cast.guardian)
    assert client.get("/api/v1/sessions/").json()["count"] == 0
    assert client.get(f"/api/v1/sessions/{cast.session.pk}/").status_code == 404


def test_therapist_creates_a_session(cast: Cast) -> None:
    response = client_for(cast.therapist).post(
        "/api/v1/sessions/",
        {
            "child": str(cast.child.pk),
            "date": "2026-11-02",
            "kind": "group",
            "title": "Turn-taking",
            "notes": "Went well",
        },
        format="json",
    )
    assert response.status_code == 201
    created = TherapySession.objects.get(pk=response.json()["id"])
    assert created.child == cast.child
    assert created.therapist == cast.therapist
    assert created.date == dt.date(2026, 11, 2)
    assert created.kind == "group"
    assert response.json()["therapist"] == str(cast.therapist.pk)


def test_therapist_cannot_choose_another_therapist(cast: Cast) -> None:
    response = client_for(cast.therapist).post(
        "/api/v1/sessions/",
        {
            "child": str(cast.child.pk),
            "date": "2026-11-02",
            "kind": "individual",
            "therapist": str(cast.other_therapist.pk),
        },
        format="json",
    )
    assert response.status_code == 201
    assert TherapySession.objects.get(pk=response.json()["id"]).therapist == cast.therapist


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin", 403),
        ("guardian", 403),
        ("other_therapist", 404),
        ("other_admin", 404),
    ],
)
def test_only_the_childs_therapist_creates_sessions(cast: Cast, persona: str, status: int) -> None:
    before = TherapySession.objects.count()
    response = client_for(cast.user(persona)).post(
        "/api/v1/sessions/",
        {"child": str(cast.child.pk), "date": "2026-11-02", "kind": "individual"},
        format="json",
    )
    assert response.status_code == status
    assert "detail" in response.json()
    assert TherapySession.objects.count() == before


def test_invalid_session_payload_explains_the_fields(cast: Cast) -> None:
    response = client_for(cast.therapist).post(
        "/api/v1/sessions/",
        {"child": str(cast.child.pk), "date": "yesterday", "kind": "party"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some fields are missing or invalid."
    assert set(body["errors"]) == {"date", "kind"}


def test_sessions_cannot_be_changed_or_deleted_through_the_api(cast: Cast) -> None:
    client = client_for(cast.therapist)
    url = f"/api/v1/sessions/{cast.session.pk}/"
    assert client.patch(url, {"title": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert TherapySession.objects.filter(pk=cast.session.pk).exists()
