"""Production settings pass ``manage.py check --deploy`` with zero warnings, and refuse to start
without a secret key. Each check runs in a fresh process, as the production server would."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from typing import Any

from django.conf import settings

# Variables a developer's shell may set that must not leak into the production-like process.
_SCRUB = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "MFA_REQUIRED_FOR_STAFF",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
}


def _secret(length: int = 50) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _prod_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        DJANGO_SETTINGS_MODULE="ser_portal.settings.prod",
        DJANGO_SECRET_KEY=_secret(),
        DJANGO_ALLOWED_HOSTS="portal.clinic.example",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://portal.clinic.example",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ser_portal",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
        TRUSTED_PROXY_COUNT="1",
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_passes_with_zero_warnings() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _prod_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = _prod_env()
    del env["DJANGO_SECRET_KEY"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production." in result.stderr


def _prod_settings(**extra: str) -> dict[str, Any]:
    names = [
        "DEBUG",
        "MFA_REQUIRED_FOR_STAFF",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_AGE",
        "SESSION_COOKIE_NAME",
        "X_FRAME_OPTIONS",
        "ALLOWED_HOSTS",
        "TRUSTED_PROXY_COUNT",
        "CSRF_TRUSTED_ORIGINS",
        "SER_DEMO_MODE",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    result = _run(["-c", code], _prod_env(**extra))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_defaults_are_the_safe_ones() -> None:
    values = _prod_settings(DJANGO_DEBUG="1")  # DEBUG cannot be switched on in production
    assert values["DEBUG"] is False
    assert values["MFA_REQUIRED_FOR_STAFF"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_AGE"] == 15 * 60
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SER_DEMO_MODE"] is False
    assert values["ALLOWED_HOSTS"] == ["portal.clinic.example"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://portal.clinic.example"]
    assert values["TRUSTED_PROXY_COUNT"] == 1


def test_idle_timeout_is_configurable_in_production() -> None:
    assert _prod_settings(SESSION_IDLE_TIMEOUT_S="600")["SESSION_COOKIE_AGE"] == 600


def test_demo_data_cannot_be_seeded_in_production() -> None:
    result = _run(["manage.py", "seed_demo"], _prod_env())
    assert result.returncode != 0
    assert "only seeded in demo mode" in result.stderr
