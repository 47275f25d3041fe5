"""400/403/404/500 pages: our wording in our layout, nothing about the system or the failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import Cast
from tests.sessions.error_urls import SECRET_MARKER

pytestmark = pytest.mark.django_db

# Words that would mean a debug page or internals reached the browser.
LEAKS = (
    "Traceback",
    "RuntimeError",
    SECRET_MARKER,
    "hunter2",
    "/srv/",
    "site-packages",
    "DEBUG = True",
    "Django",
    "Request Method",
    "Exception Value",
)


def _assert_no_leak(response: Any) -> None:
    text = response.content.decode()
    for word in LEAKS:
        assert word not in text, f"{word!r} leaked into the {response.status_code} page"


@override_settings(ROOT_URLCONF="tests.sessions.error_urls", DEBUG=False)
def test_unhandled_exception_gives_our_500_page_without_details(cast: Cast) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(cast.therapist)
    response = client.get("/test-errors/boom/")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong on our side" in text
    assert 'href="/"' in text
    _assert_no_leak(response)
    # Rendered without the request context: no navigation, no account shown on a failure page.
    assert cast.therapist.email not in text
    assert "Clinic console" not in text


@override_settings(ROOT_URLCONF="tests.sessions.error_urls", DEBUG=False)
def test_unhandled_api_exception_gives_json_500(cast: Cast) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(cast.therapist)
    response = client.get("/api/test-errors/boom/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Something went wrong on our side. It has been logged."}
    _assert_no_leak(response)


def test_unknown_page_is_our_404(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.therapist)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "Page not found" in text
    assert "<nav" in text  # the normal layout, so the person can find their way back
    _assert_no_leak(response)


def test_unknown_api_path_is_json_404(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.therapist)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_child_you_may_not_know_is_a_plain_404(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.other_therapist)
    response = client.get(reverse("child_detail", args=[cast.child.pk]))
    assert response.status_code == 404
    text = response.content.decode()
    assert cast.child.given_name not in text
    assert cast.child.code not in text
    _assert_no_leak(response)


def test_action_you_may_not_take_is_our_403(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.admin)
    response = client.get(reverse("session_create", args=[cast.child.pk]))
    assert response.status_code == 403
    text = response.content.decode()
    assert "You do not have access to this" in text
    assert "ask your clinic admin" in text
    _assert_no_leak(response)


def test_disallowed_host_is_our_400(db: Any) -> None:
    response = Client(HTTP_HOST="attacker.example").get(reverse("account_login"))
    assert response.status_code == 400
    assert "The request could not be understood" in response.content.decode()
    _assert_no_leak(response)
    assert "attacker.example" not in response.content.decode()


def test_expired_form_token_is_our_403_page(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.therapist)
    response = client.post(
        reverse("session_create", args=[cast.child.pk]),
        {"date": "2026-11-01", "kind": "individual"},
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "This form has expired" in text
    assert "Nothing was saved" in text
    assert "CSRF" not in text
    _assert_no_leak(response)


def test_error_pages_have_a_title_and_one_heading(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.therapist)
    text = client.get("/no/such/page/").content.decode()
    assert "<title>Page not found · SER Portal</title>" in text
    assert text.count("<h1") == 1
    assert '<html lang="en">' in text
