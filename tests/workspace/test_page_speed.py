"""Server side of the pages that should load in a second (issue 14): the timeline's JSON goes
out gzipped (the HTML, which holds CSRF tokens, and the API token never do: BREACH), and the
session page, the timeline API and the child page read the database a fixed number of times,
however many segments, recordings or sessions there are (no N+1)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ser_portal.compression import JsonGZipMiddleware
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run, new_session


def _client(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.therapist)
    return client


@pytest.mark.django_db
def test_the_timeline_json_is_gzipped_and_reads_the_same(cast: Cast) -> None:
    done_run(cast.recording, segments=40, duration_s=600.0)
    client = _client(cast)
    url = reverse("api-workspace-recording", args=[cast.recording.pk])
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) < 0.3 * len(plain.content)
    assert json.loads(gzip.decompress(packed.content)) == json.loads(plain.content)


@pytest.mark.django_db
def test_html_pages_with_csrf_tokens_are_never_compressed(cast: Cast) -> None:
    done_run(cast.recording, segments=40, duration_s=600.0)
    response = _client(cast).get(
        reverse("session_detail", args=[cast.session.pk]), HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert b"csrf" in response.content.lower()
    assert "Content-Encoding" not in response


def test_json_with_the_api_token_is_never_compressed() -> None:
    body = json.dumps({"token": "x" * 40, "padding": "y" * 2000})
    middleware = JsonGZipMiddleware(lambda request: HttpResponse(body, "application/json"))
    factory = RequestFactory()
    token = middleware.process_response(
        factory.post("/api/v1/auth/token/", HTTP_ACCEPT_ENCODING="gzip"),
        HttpResponse(body, "application/json"),
    )
    other = middleware.process_response(
        factory.get("/api/v1/children/", HTTP_ACCEPT_ENCODING="gzip"),
        HttpResponse(body, "application/json"),
    )
    assert isinstance(token, HttpResponse)
    assert "Content-Encoding" not in token
    assert token.content == body.encode()
    assert other["Content-Encoding"] == "gzip"


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _sessions(cast: Cast, count: int, start: int) -> None:
    for week in range(start, start + count):
        session = new_session(
            child=cast.child,
            therapist=cast.therapist,
            date=dt.date(2025, 1, 6) + dt.timedelta(weeks=week),
        )
        done_run(recording_for(session), segments=6, duration_s=60.0, seed=week)


@pytest.mark.django_db
def test_the_pages_read_the_database_a_fixed_number_of_times(cast: Cast) -> None:
    """Counted with few rows, then with many: the counts do not grow (no query per segment,
    recording or session), and stay under a bound."""
    client = _client(cast)
    done_run(cast.recording, segments=5, duration_s=60.0)
    _sessions(cast, 2, 0)
    pages: dict[str, str] = {
        "session page": reverse("session_detail", args=[cast.session.pk]),
        "timeline API": reverse("api-workspace-recording", args=[cast.recording.pk]),
        "child page": reverse("child_detail", args=[cast.child.pk]),
    }
    for name in pages:  # a first read warms caches (content types, the active model)
        _queries(client, pages[name])
    few = {name: _queries(client, url) for name, url in pages.items()}
    # More of everything: a second recording in the session, 200 segments, 12 more sessions.
    done_run(recording_for(cast.session), segments=8, duration_s=60.0)
    done_run(cast.recording, segments=200, duration_s=900.0, seed=3)
    _sessions(cast, 12, 2)
    many = {name: _queries(client, url) for name, url in pages.items()}
    assert many == few
    # Measured: 27, 23 and 22 (a little room for a new panel, none for a loop).
    bounds: dict[str, Any] = {"session page": 30, "timeline API": 26, "child page": 26}
    for name, count in many.items():
        assert count <= bounds[name], (name, count)
