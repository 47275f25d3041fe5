"""The authorization matrix: every URL and API endpoint x every persona -> expected status.

Each feature adds an ``entries_<feature>.py`` module here with ``ENTRIES: list[Endpoint]``;
``tests/authz/test_matrix.py`` fails if any URL of the project has no entry (or exemption).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import PERSONAS, Cast

# Web pages send anonymous visitors to the login page; the API answers 401.
LOGIN = 302


@dataclass
class Endpoint:
    name: str
    expect: dict[str, int]
    method: str = "get"
    kwargs: Callable[[Cast], dict[str, Any]] = field(default=lambda cast: {})
    data: Callable[[Cast], dict[str, Any]] | None = None
    query: Callable[[Cast], dict[str, Any]] | None = None
    fmt: str | None = None  # "json" or "multipart" for API writes
    label: str = ""

    def __post_init__(self) -> None:
        missing = set(PERSONAS) - set(self.expect)
        if missing:
            raise ValueError(f"{self.name}: no expectation for {sorted(missing)}")


def each(status: int, **overrides: int) -> dict[str, int]:
    """Every persona gets ``status`` unless overridden."""
    expect = dict.fromkeys(PERSONAS, status)
    expect.update(overrides)
    return expect


# Exempt from the matrix, with the reason: pages that hold no child data and that every
# visitor must reach (log in, reset a password, set up MFA), and the health probe.
EXEMPT_PREFIXES = ("account_", "mfa_", "socialaccount_", "healthz")
