"""Authorization matrix entries of the clinic admin console's audit log (its page is in
entries_foundation.py) and of its API."""

from __future__ import annotations

from tests.authz.matrix import LOGIN, Endpoint, each

ENTRIES = [
    Endpoint(
        "console_audit",
        each(404, admin=200, other_admin=200, anonymous=LOGIN),
        query=lambda c: {"export": "csv", "child": c.child.code},
        label="csv",
    ),
    # Each admin reads their own clinic's log.
    Endpoint("api-audit-log", each(404, admin=200, other_admin=200, anonymous=401)),
    Endpoint(
        "api-audit-log",
        each(404, admin=200, other_admin=400, anonymous=401),
        query=lambda c: {"child": c.child.code, "action": "view"},
        label="filtered",
    ),
]
