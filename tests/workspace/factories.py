"""Rows for workspace tests (synthetic analyses: see sessions/workspace/synthetic.py)."""

from __future__ import annotations

from typing import Any, cast

from sessions.models import TherapySession
from sessions.workspace.synthetic import done_run, first_segment_key, model_version
from tests.factories import TherapySessionFactory


def new_session(**fields: Any) -> TherapySession:
    """A therapy session, typed as one (factory_boy's calls are typed as the factory)."""
    return cast(TherapySession, TherapySessionFactory(**fields))


__all__ = ["done_run", "first_segment_key", "model_version", "new_session"]
