"""``POST /api/v1/auth/token/``, token and session authentication, and the failed-login limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.models import ApiToken, AuditEvent
from sessions.models.audit import AuditAction
from sessions.tokens import token_for_key
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.sessions.totp import current_code, enrol_totp, wrong_code

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def _token(client: APIClient, email: str, password: str, **extra: Any) -> Any:
    return client.post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def test_token_url_is_the_documented_one() -> None:
    assert reverse("api-token") == TOKEN_URL


def test_correct_credentials_return_a_token_that_authenticates(cast: Cast, api: APIClient) -> None:
    response = _token(api, cast.therapist.email, PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    assert token_for_key(token).user == cast.therapist  # type: ignore[union-attr]

    client = APIClient()
    assert client.get("/api/v1/children/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listing = client.get("/api/v1/children/")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [str(cast.child.pk)]


def test_each_token_request_gets_its_own_token_and_both_work(cast: Cast, api: APIClient) -> None:
    first = _token(api, cast.therapist.email, PASSWORD).json()["token"]
    second = _token(api, cast.therapist.email, PASSWORD).json()["token"]
    assert first != second
    for key in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/v1/children/").status_code == 200
    # Only a hash of each key is stored.
    assert not ApiToken.objects.filter(key_hash__in=[first, second]).exists()


def test_families_get_tokens_too(cast: Cast, api: APIClient) -> None:
    token = _token(api, cast.guardian.email, PASSWORD).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    children = api.get("/api/v1/children/").json()["results"]
    assert [row["id"] for row in children] == [str(cast.child.pk)]


def test_invalid_token_is_401(api: APIClient, db: Any) -> None:
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/children/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_session_authentication_works_for_the_api(cast: Cast) -> None:
    client = APIClient()
    client.force_login(cast.admin)
    response = client.get("/api/v1/children/")
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_wrong_password_is_a_readable_400_and_audited(cast: Cast, api: APIClient) -> None:
    response = _token(api, cast.therapist.email, "wrong-password-123")
    assert response.status_code == 400
    assert response.json() == {"detail": "E-mail or password is incorrect."}
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert failed.count() == 1
    event = failed.get()
    assert event.actor is None
    assert event.ip_address == "127.0.0.1"
    # The attempted e-mail is not stored: it may be a typo of someone else's address.
    assert cast.therapist.email not in str(event.detail)
    assert event.actor_label == "anonymous"


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(api: APIClient, db: Any) -> None:
    response = _token(api, "nobody@example.test", "wrong-password-123")
    assert response.status_code == 400
    assert response.json() == {"detail": "E-mail or password is incorrect."}


def test_missing_fields_are_a_field_error(api: APIClient, db: Any) -> None:
    response = api.post(TOKEN_URL, {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some fields are missing or invalid."
    assert set(body["errors"]) == {"email", "password"}


def test_inactive_account_gets_no_token(cast: Cast, api: APIClient) -> None:
    cast.therapist.is_active = False
    cast.therapist.save()
    assert _token(api, cast.therapist.email, PASSWORD).status_code == 400


def test_successful_login_is_audited(cast: Cast, api: APIClient) -> None:
    _token(api, cast.therapist.email, PASSWORD)
    event = AuditEvent.objects.get(action=AuditAction.LOGIN, object_type="api_token")
    assert event.actor == cast.therapist
    assert event.clinic_id == cast.clinic.pk
    assert event.ip_address == "127.0.0.1"


def test_five_failures_lock_the_account_from_that_address(cast: Cast, api: APIClient) -> None:
    for _ in range(5):
        assert _token(api, cast.therapist.email, "wrong-password-123").status_code == 400
    locked = _token(api, cast.therapist.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]
    assert not ApiToken.objects.filter(user=cast.therapist).exists()
    # Another account from the same address is not locked by these five.
    assert _token(api, cast.admin.email, PASSWORD).status_code == 200


def test_changing_address_does_not_escape_the_per_account_limit(cast: Cast) -> None:
    for attempt in range(10):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{attempt + 1}")
        assert _token(client, cast.therapist.email, "wrong-password-123").status_code == 400
    fresh_address = APIClient(REMOTE_ADDR="10.0.1.1")
    assert _token(fresh_address, cast.therapist.email, PASSWORD).status_code == 429


def test_forged_forwarded_for_header_does_not_reset_the_limit(cast: Cast) -> None:
    """Without a trusted proxy, X-Forwarded-For is the client's own text and is ignored."""
    for attempt in range(5):
        client = APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
        assert _token(client, cast.therapist.email, "wrong-password-123").status_code == 400
    forged = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _token(forged, cast.therapist.email, PASSWORD).status_code == 429
    assert set(
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list(
            "ip_address", flat=True
        )
    ) == {"127.0.0.1"}


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_client_address_is_the_proxys_hop(cast: Cast) -> None:
    client = APIClient(HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.10", REMOTE_ADDR="10.0.0.2")
    _token(client, cast.therapist.email, "wrong-password-123")
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.ip_address == "192.0.2.10"


def test_success_clears_the_account_counter(cast: Cast, api: APIClient) -> None:
    for _ in range(4):
        _token(api, cast.therapist.email, "wrong-password-123")
    assert _token(api, cast.therapist.email, PASSWORD).status_code == 200
    for _ in range(4):
        assert _token(api, cast.therapist.email, "wrong-password-123").status_code == 400
    assert _token(api, cast.therapist.email, PASSWORD).status_code == 200


def test_token_requests_per_address_are_throttled(cast: Cast, api: APIClient) -> None:
    statuses = [_token(api, cast.therapist.email, PASSWORD).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


# --- accounts with two-factor authentication ---------------------------------------------------


def test_mfa_account_must_send_a_code(cast: Cast, api: APIClient) -> None:
    enrol_totp(cast.therapist)
    response = _token(api, cast.therapist.email, PASSWORD)
    assert response.status_code == 400
    assert "otp" in response.json()["detail"]
    assert not ApiToken.objects.filter(user=cast.therapist).exists()


def test_mfa_account_with_a_valid_code_gets_a_token(cast: Cast, api: APIClient) -> None:
    secret = enrol_totp(cast.therapist)
    response = _token(api, cast.therapist.email, PASSWORD, otp=current_code(secret))
    assert response.status_code == 200
    token = ApiToken.objects.get(user=cast.therapist)
    assert token == token_for_key(response.json()["token"]) and token.mfa_verified


def test_a_code_cannot_be_replayed(cast: Cast, api: APIClient) -> None:
    secret = enrol_totp(cast.therapist)
    code = current_code(secret)
    assert _token(api, cast.therapist.email, PASSWORD, otp=code).status_code == 200
    assert _token(api, cast.therapist.email, PASSWORD, otp=code).status_code == 400


def test_wrong_codes_count_as_failures(cast: Cast, api: APIClient) -> None:
    secret = enrol_totp(cast.therapist)
    for _ in range(5):
        response = _token(api, cast.therapist.email, PASSWORD, otp=wrong_code(secret))
        assert response.status_code == 400
        assert response.json()["detail"] == "The one-time code is incorrect or expired."
    assert _token(api, cast.therapist.email, PASSWORD, otp=current_code(secret)).status_code == 429
    assert (
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, detail__reason="otp").count()
        == 5
    )


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_staff_without_mfa_get_no_token_when_mfa_is_required(cast: Cast, api: APIClient) -> None:
    for staff in (cast.therapist, cast.admin):
        response = _token(api, staff.email, PASSWORD)
        assert response.status_code == 403
        assert "two-factor" in response.json()["detail"]
    # Families are not clinic staff: MFA is offered to them, not imposed.
    assert _token(api, cast.guardian.email, PASSWORD).status_code == 200
    secret = enrol_totp(cast.therapist)
    assert _token(api, cast.therapist.email, PASSWORD, otp=current_code(secret)).status_code == 200
