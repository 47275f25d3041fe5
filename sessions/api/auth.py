"""``POST /api/v1/auth/token/``: e-mail + password (+ ``otp`` when MFA is on) -> API token."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.audit import client_ip
from sessions.models.audit import AuditAction

# Failed attempts per (address, e-mail) and per address, within a sliding window.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 300


class TokenRequestSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True)


def _keys(request: Request, email: str) -> list[str]:
    ip = client_ip(request._request) or "unknown"
    return [f"api-login-fail:{ip}:{email.lower()}", f"api-login-fail:{ip}"]


def _too_many_failures(keys: list[str]) -> bool:
    counts = [cache.get(key, 0) for key in keys]
    return counts[0] >= MAX_FAILURES or counts[1] >= MAX_FAILURES * 4


def _count_failure(keys: list[str]) -> None:
    for key in keys:
        cache.add(key, 0, FAILURE_WINDOW_S)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, FAILURE_WINDOW_S)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
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
            _count_failure(keys)
            audit.record(
                actor=None, action=AuditAction.LOGIN_FAILED, object_type="api_token",
                request=request._request,
            )
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
                return Response(
                    {"detail": "The one-time code is incorrect or expired."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        elif settings.MFA_REQUIRED_FOR_STAFF and access.is_staff_member(user):
            return Response(
                {"detail": "Set up two-factor authentication in the portal before using the API."},
                status=status.HTTP_403_FORBIDDEN,
            )
        for key in keys:
            cache.delete(key)
        token, _ = Token.objects.get_or_create(user=user)
        clinic = access.primary_clinic(user)
        audit.record(
            actor=user, action=AuditAction.LOGIN, object_type="api_token", object_id=user.pk,
            clinic_id=clinic.pk if clinic else None, request=request._request,
        )
        return Response({"token": token.key})
