"""The stored model-output traces of a run's timeline, built from its frames where the frames are
written (never by a page view)."""

from __future__ import annotations

from analysis.models import AnalysisRun
from sessions.workspace import selectors
from sessions.workspace.models import RunTimeline


def timeline_store(*, run: AnalysisRun) -> RunTimeline:
    """Build the model-output traces of ``run``'s timeline from its frames and store them as
    JSON text; called where the frames are written (``analysis.services.run_store_results``,
    the synthetic demo runs), never by a page view. Running it twice overwrites the same row
    with the same content."""
    from sessions.workspace import charts

    roles, traces = charts.timeline_traces(selectors.run_frames(run))
    timeline, _ = RunTimeline.objects.update_or_create(
        run=run,
        defaults={"format": charts.TIMELINE_FORMAT, "roles": roles, "traces": traces},
    )
    return timeline
