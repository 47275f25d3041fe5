"""Store the timeline traces of finished runs that have none in the current format (after
``charts.TIMELINE_FORMAT`` was bumped, or for runs finished before traces were stored).

Page views never store them (a GET computes missing traces without writing), so this is how
old runs get fast timelines again. Running it twice stores nothing the second time.
Run: ``python manage.py store_timelines [--limit N]``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analysis.models import AnalysisRun, RunFrames, RunStatus
from sessions.workspace import timelines
from sessions.workspace.charts import TIMELINE_FORMAT
from sessions.workspace.models import RunTimeline


class Command(BaseCommand):
    help = "Store missing or outdated timeline traces of finished analysis runs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=0, help="at most this many runs")

    def handle(self, *args: Any, **options: Any) -> None:
        current = RunTimeline.objects.filter(format=TIMELINE_FORMAT).values("run_id")
        runs = (
            AnalysisRun.objects.filter(
                status=RunStatus.DONE, pk__in=RunFrames.objects.values("run_id")
            )
            .exclude(pk__in=current)
            .order_by("-finished_at")
        )
        if options["limit"]:
            runs = runs[: options["limit"]]
        count = 0
        for run in runs.iterator():
            timelines.timeline_store(run=run)
            count += 1
        self.stdout.write(f"Stored the timeline traces of {count} run(s).")
