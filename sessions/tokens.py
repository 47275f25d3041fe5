"""API tokens: issuing, checking and revoking them. The one place that decides whether a token
still opens the API.

A token ends when it has not been used for ``API_TOKEN_IDLE_TIMEOUT_S`` or is older than
``API_TOKEN_MAX_AGE_S``, when its owner logs out (web or ``DELETE /api/v1/auth/token/``),
changes or resets the password, or removes an authenticator. Clinic staff are held to the same
two-factor rule as on the web: with ``MFA_REQUIRED_FOR_STAFF`` a token opens the API only for
staff who have an authenticator and proved it (a TOTP code) when they got the token, whenever
the token was issued.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from sessions import access
from sessions.models import ApiToken, User
from sessions.types import Actor

# last_used_at is written at most this often per token (not on every request).
_TOUCH_EVERY = timedelta(seconds=60)
MFA_REQUIRED_MESSAGE = (
    "Clinic staff must use two-factor authentication: set up an authenticator app in the "
    "portal, then request a new token with your one-time code."
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, user: User, mfa_verified: bool) -> str:
    """Create a new token for ``user`` and return its key (shown once, stored only hashed).
    Each call makes another token, so two clients of one person can be revoked separately."""
    key = secrets.token_hex(20)
    ApiToken.objects.create(
        user=user,
        key_hash=_hash(key),
        prefix=key[:8],
        auth_hash=user.get_session_auth_hash(),
        mfa_verified=mfa_verified,
        last_used_at=timezone.now(),
    )
    return key


def tokens_revoke(*, user: Actor | None) -> int:
    """End every API token of ``user``; returns how many. Running it twice ends nothing more."""
    if not isinstance(user, User):
        return 0
    deleted, _ = ApiToken.objects.filter(user_id=user.pk).delete()
    return deleted


def token_revoke(*, token: ApiToken) -> None:
    """End one token (the one a client logs out with)."""
    ApiToken.objects.filter(pk=token.pk).delete()


def _expired(token: ApiToken, now: Any) -> bool:
    idle = timedelta(seconds=settings.API_TOKEN_IDLE_TIMEOUT_S)
    max_age = timedelta(seconds=settings.API_TOKEN_MAX_AGE_S)
    return token.last_used_at < now - idle or token.created_at < now - max_age


def mfa_blocks(user: Actor, *, mfa_verified: bool) -> bool:
    """The web's rule (sessions.middleware) for a request made with a token."""
    return bool(
        settings.MFA_REQUIRED_FOR_STAFF
        and access.is_staff_member(user)
        and not (mfa_verified and is_mfa_enabled(user))
    )


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` with expiry, revocation and the staff MFA rule.

    An unknown, expired or revoked token answers 401; a valid token of staff who do not meet
    the two-factor rule answers 403 with what to do."""

    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if _expired(token, now) or token.auth_hash != token.user.get_session_auth_hash():
            token_revoke(token=token)
            raise exceptions.AuthenticationFailed("The token has expired. Request a new one.")
        if mfa_blocks(token.user, mfa_verified=token.mfa_verified):
            raise exceptions.PermissionDenied(MFA_REQUIRED_MESSAGE)
        if token.last_used_at < now - _TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


def token_for_key(key: str) -> ApiToken | None:
    """The stored token with this key, whatever its state (to revoke it)."""
    return ApiToken.objects.filter(key_hash=_hash(key)).first()
