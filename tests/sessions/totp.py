"""A real TOTP authenticator for a test user, and the code an authenticator app would show."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from sessions.models import User


def enrol_totp(user: User) -> str:
    """Activate TOTP for ``user`` the way the set-up page does; returns the shared secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret: str) -> str:
    """The code for the current time step (the middle of allauth's tolerance window).

    Close to the end of a step it waits for the next one, so the code is still valid when the
    server checks it a moment later.
    """
    left = app_settings.TOTP_PERIOD - time.time() % app_settings.TOTP_PERIOD
    if left < 2:
        time.sleep(left + 0.05)
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def wrong_code(secret: str) -> str:
    """A well-formed code that is not valid now."""
    valid = {format_hotp_value(hotp_value(secret, c)) for c in yield_hotp_counters_from_time()}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)
