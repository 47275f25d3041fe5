"""API tokens: one per token request, stored as a hash, ending after idle and absolute limits."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sessions.models.base import TimestampedModel


class ApiToken(TimestampedModel):
    """A bearer token of the REST API. Only the SHA-256 of the key is stored, so a copy of the
    database does not hand out working tokens. ``auth_hash`` is the account's session hash
    (derived from its password hash) at issue: a changed password ends every token even where
    no signal fired. ``mfa_verified`` says the request that got the token passed a TOTP check."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, to tell tokens apart in logs and the admin (not secret).
    prefix = models.CharField(max_length=8)
    auth_hash = models.CharField(max_length=128)
    mfa_verified = models.BooleanField(default=False)
    last_used_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user_id}"
