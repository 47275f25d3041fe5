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


# The rules that recur across features, named once. Pages send anonymous visitors to log in;
# the API answers them 401. Anyone not named may not know the object exists: 404.
CHILD_READERS = each(404, therapist=200, guardian=200, admin=200, anonymous=LOGIN)
"""The child's therapist, guardian and clinic admin read it."""
STAFF_PAGE = each(404, therapist=200, admin=200, guardian=302, anonymous=LOGIN)
"""A staff page of the child: its guardian is sent to the family's own page."""
STAFF_READ = each(404, therapist=200, admin=200, anonymous=LOGIN)
"""Only the child's staff read it (a draft, an export): not even the guardian knows it."""
THERAPIST_FORM = each(404, therapist=200, admin=403, guardian=403, anonymous=LOGIN)
"""A form that changes the child's records: the admin and the guardian see the child, 403."""
THERAPIST_WRITES = each(404, therapist=302, admin=403, guardian=403, anonymous=LOGIN)
"""Posting it: only the child's therapist changes the records."""
STAFF_MEMBERS = each(200, guardian=302, other_guardian=302, anonymous=LOGIN)
"""A clinic-wide staff page (no child): families are sent home."""
ANY_ADMIN = each(404, admin=200, other_admin=200, anonymous=LOGIN)
"""A console page: each clinic's admin sees their own clinic's."""
ANY_ADMIN_WRITES = each(404, admin=302, other_admin=302, anonymous=LOGIN)
"""Posting a console form of one's own clinic."""
OWN_ADMIN = each(404, admin=200, anonymous=LOGIN)
"""An object of the cast's clinic in the console: only its admin."""
API_CHILD_READERS = each(404, therapist=200, guardian=200, admin=200, anonymous=401)
"""The API's ``CHILD_READERS``."""
API_STAFF_READ = each(404, therapist=200, admin=200, anonymous=401)
"""The API's ``STAFF_READ``."""

# Exempt from the matrix, with the reason: pages that hold no child data and that every
# visitor must reach (log in, reset a password, set up MFA), and the health probe.
EXEMPT_PREFIXES = ("account_", "mfa_", "socialaccount_", "healthz")
