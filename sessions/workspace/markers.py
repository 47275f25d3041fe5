"""Writes of the therapist's trend markers: phase lines (as on an ABA graph) and goals on a
child's trend charts. Each writes one ``TrendMarker`` row and an audit entry."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from sessions import audit
from sessions.models import Child, TherapySession
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in
from sessions.workspace.models import MarkerKind, TrendMarker, TrendMetric


class MarkerDuplicate(ValueError):
    """A marker the chart already has (same kind, day and measure); the message says which."""


@transaction.atomic
def marker_create(
    *,
    child: Child,
    kind: str,
    day: date,
    label: str,
    metric: str = "",
    target: float | None = None,
    created_by: Actor | None,
    request: HttpRequest | None = None,
) -> TrendMarker:
    """Add a phase line or a goal to ``child``'s trend charts. Refuses (``MarkerDuplicate``) a
    second phase line on the same day or a second goal for the same measure and day, so running
    it twice adds one marker."""
    label = label.strip()
    if not label:
        raise ValueError("Give the marker a short label, e.g. “Phase B: emotion cards”.")
    if kind == MarkerKind.GOAL:
        if metric not in TrendMetric.values or target is None:
            raise ValueError("A goal needs a measure and a target value.")
        low, high = (0.0, 1.0) if metric == TrendMetric.TALK_SHARE else (-1.0, 1.0)
        if not low <= target <= high:
            raise ValueError(f"The target must be between {low:g} and {high:g}.")
    elif kind == MarkerKind.PHASE:
        metric, target = "", None
    else:
        raise ValueError("Unknown marker kind.")
    # One phase line per day, one goal per measure and day: a second one would draw on top of
    # the first (a double submit, or the same change entered twice).
    twin = TrendMarker.objects.filter(child=child, kind=kind, date=day, metric=metric).first()
    if twin is not None:
        what = "phase line" if kind == MarkerKind.PHASE else f"goal for {twin.get_metric_display()}"
        raise MarkerDuplicate(
            f"There is already a {what} on {day:%Y-%m-%d} (“{twin.label}”). "
            "Choose another date, or remove that one first."
        )
    marker = TrendMarker.objects.create(
        child=child,
        kind=kind,
        date=day,
        label=label[:80],
        metric=metric,
        target=target,
        created_by=signed_in(created_by),
    )
    audit.record(
        actor=created_by,
        action=AuditAction.CREATE,
        obj=marker,
        child=child,
        request=request,
        detail={"kind": kind},
    )
    return marker


def session_goal_record(
    *,
    session: TherapySession,
    goal: dict[str, Any] | None,
    created_by: Actor | None,
    request: HttpRequest | None = None,
) -> TrendMarker | None:
    """The goal set with a new session, as a goal line on the child's trends from the session's
    date. Nothing when ``goal`` is None; a second identical call is refused as a duplicate."""
    if not goal:
        return None
    return marker_create(
        child=session.child,
        kind=MarkerKind.GOAL,
        day=session.date,
        label=goal["label"],
        metric=goal["metric"],
        target=goal["target"],
        created_by=created_by,
        request=request,
    )


@transaction.atomic
def marker_delete(
    *, marker: TrendMarker, actor: Actor | None, request: HttpRequest | None = None
) -> None:
    """Remove a marker. Deleting one that is already gone does nothing."""
    child = marker.child
    deleted, _ = TrendMarker.objects.filter(pk=marker.pk).delete()
    if deleted:
        audit.record(
            actor=actor,
            action=AuditAction.DELETE,
            object_type="trendmarker",
            object_id=marker.pk,
            child=child,
            request=request,
        )
