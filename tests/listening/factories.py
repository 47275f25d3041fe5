"""Rows for listening tests: an assignment of a clinic's starter set, answers built directly."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from sessions.listening.models import ListeningAnswer, ListeningAssignment, ListeningSet
from sessions.models import Child


def starter_set(child: Child, key: str = "four-feelings") -> ListeningSet:
    return ListeningSet.objects.get(clinic=child.clinic, starter_key=key)


def make_listening_assignment(child: Child, key: str = "four-feelings", **fields: Any) -> Any:
    fields.setdefault("starts_on", timezone.localdate() - dt.timedelta(days=30))
    return ListeningAssignment.objects.create(
        child=child, listening_set=starter_set(child, key), **fields
    )


def answer(
    assignment: ListeningAssignment,
    target: str,
    chosen: str,
    *,
    days_ago: int = 0,
    response_ms: int | None = 1500,
) -> ListeningAnswer:
    clip = assignment.listening_set.clips.filter(emotion=target).first()
    return ListeningAnswer.objects.create(
        assignment=assignment,
        child=assignment.child,
        clip=clip,
        target_emotion=target,
        chosen_emotion=chosen,
        choices=[target, chosen],
        correct=target == chosen,
        response_ms=response_ms,
        answered_at=timezone.now() - dt.timedelta(days=days_ago),
        client_id=uuid.uuid4(),
    )
