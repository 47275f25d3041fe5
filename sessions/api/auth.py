"""``POST /api/v1/auth/token/``: e-mail + password (+ ``otp`` when MFA is on) -> API token;
``DELETE /api/v1/auth/token/`` ends the token sent in the Authorization header.

How long a token lasts and what ends it: sessions.tokens.

Failed attempts are counted per (address, e-mail), per e-mail and per address within a window;
past the limit every attempt (even a correct one) gets 429 until the window ends. The counters
live in the cache: production sets CACHE_URL (Redis) so all web workers share them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import get_authorization_header
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from sessions import access, audit, tokens
from sessions.audit import client_ip
from sessions.auth import audit_account_event
from sessions.models.audit import AuditAction

MAX_FAILURES = 5  # per (address, e-mail)
MAX_FAILURES_PER_ACCOUNT = 10  # per e-mail from any address (slows distributed guessing)
MAX_FAILURES_PER_ADDRESS = 20  # per address, any e-mail (slows password spraying)
FAILURE_WINDOW_S = 300


class TokenRequestSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True)


def _keys(request: Request, email: str) -> dict[str, int]:
    """Cache keys of the failure counters that apply to this attempt, with their limits."""
    ip = client_ip(request._request) or "unknown"
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return {
        f"api-login-fail:{ip}:{account}": MAX_FAILURES,
        f"api-login-fail:account:{account}": MAX_FAILURES_PER_ACCOUNT,
        f"api-login-fail:ip:{ip}": MAX_FAILURES_PER_ADDRESS,
    }


def _too_many_failures(keys: dict[str, int]) -> bool:
    return any(cache.get(key, 0) >= limit for key, limit in keys.items())


def _count_failure(keys: dict[str, int]) -> None:
    for key in keys:
        cache.add(key, 0, FAILURE_WINDOW_S)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, FAILURE_WINDOW_S)


TOKEN_ERROR = inline_serializer(
    "TokenError",
    {"detail": serializers.CharField(), "errors": serializers.DictField(required=False)},
)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def get_throttles(self) -> list[Any]:
        # The limit is on guessing credentials; ending a token guesses nothing.
        return [] if self.request.method == "DELETE" else super().get_throttles()

    @extend_schema(
        request=None,
        responses={
            204: None,
            401: inline_serializer("TokenRevokeError", {"detail": serializers.CharField()}),
        },
        summary="End the API token sent in the Authorization header (log out of the API)",
    )
    def delete(self, request: Request) -> Response:
        # Looked up here rather than by the authentication class, so that a token the staff
        # MFA rule refuses can still be ended by its holder.
        parts = get_authorization_header(request).split()
        token = None
        if len(parts) == 2 and parts[0].lower() == b"token":
            token = tokens.token_for_key(parts[1].decode("latin-1"))
        if token is None:
            return Response(
                {"detail": "Send the token to end as 'Authorization: Token <token>'."},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "Token"},
            )
        tokens.token_revoke(token=token)
        audit_account_event(
            user=token.user,
            action=AuditAction.LOGOUT,
            object_type="api_token",
            object_id=token.pk,
            request=request._request,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            # Wrong credentials, a missing one-time code, or too many failed attempts.
            400: TOKEN_ERROR,
            429: TOKEN_ERROR,
        },
        summary="Exchange credentials (and a TOTP code if MFA is on) for an API token",
    )
    def post(self, request: Request) -> Response:
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        email: str = payload.validated_data["email"]
        keys = _keys(request, email)
        if _too_many_failures(keys):
            return Response(
                {"detail": "Too many failed logins. Wait a few minutes and try again."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        user = authenticate(
            request._request, email=email, password=payload.validated_data["password"]
        )
        if user is None or not user.is_active:
            # Django's user_login_failed signal has already written the audit entry.
            _count_failure(keys)
            return Response(
                {"detail": "E-mail or password is incorrect."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if totp is not None:
            otp = payload.validated_data.get("otp") or ""
            if not otp:
                return Response(
                    {"detail": "This account uses two-factor authentication: send 'otp'."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if not TOTP(totp).validate_code(otp):
                _count_failure(keys)
                audit.record_login_failed(
                    account=user,
                    object_type="api_token",
                    request=request._request,
                    detail={"reason": "otp"},
                )
                return Response(
                    {"detail": "The one-time code is incorrect or expired."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        elif settings.MFA_REQUIRED_FOR_STAFF and access.is_staff_member(user):
            return Response(
                {"detail": "Set up two-factor authentication in the portal before using the API."},
                status=status.HTTP_403_FORBIDDEN,
            )
        # A success clears this account's counters, never the per-address one: otherwise one
        # valid account would let an attacker reset the limit on guessing everyone else's.
        for key in list(keys)[:2]:
            cache.delete(key)
        key = tokens.token_issue(user=user, mfa_verified=totp is not None)
        audit_account_event(
            user=user,
            action=AuditAction.LOGIN,
            object_type="api_token",
            object_id=user.pk,
            request=request._request,
        )
        return Response({"token": key})
