"""Authorization matrix entries of the clinic admin console's audit log (its page is in
entries_foundation.py) and of its API, and of starting a model evaluation from the console."""

from __future__ import annotations

from typing import Any

from tests.authz.entries_registry import _version
from tests.authz.matrix import ANY_ADMIN, OWN_ADMIN, Endpoint, each
from tests.conftest import Cast


def _evaluate(cast: Cast) -> dict[str, Any]:
    return {"version_id": _version(cast).pk}


ENTRIES = [
    Endpoint(
        "console_audit",
        ANY_ADMIN,
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
    # Only the admin of the model's clinic (the other clinic's admin does not know it exists).
    Endpoint("console_model_evaluate", OWN_ADMIN, kwargs=_evaluate),
    Endpoint(
        "console_model_evaluate",
        OWN_ADMIN,
        kwargs=_evaluate,
        query=lambda c: {"format": "json"},
        label="status",
    ),
    # No data folder matches the forged choice: the form answers (200), nothing starts.
    Endpoint(
        "console_model_evaluate",
        OWN_ADMIN,
        method="post",
        kwargs=_evaluate,
        data=lambda c: {"dataset": "nowhere", "folds": "0"},
        label="start",
    ),
]
