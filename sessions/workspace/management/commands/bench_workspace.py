"""Server time and query count of the workspace screens on realistic amounts of data.

Creates, inside one transaction that is rolled back at the end (nothing is kept, no files are
written): a 45-minute session recording with ~700 segments and ~2,700 frames, and a child with
52 weekly sessions with stored summaries. Then times, with Django's test client (the whole
request: middleware, access checks, audit writes, rendering), N requests each of

- the session dashboard page (``session_detail``),
- the dashboard's timeline data (``api-workspace-recording``: corrected segments + figure),
- the child profile with its trend charts (``child_detail``),

and counts their queries with CaptureQueriesContext. Run: ``python manage.py bench_workspace``.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions.models import Child, Clinic, Membership, Recording, Role, TherapySession, User
from sessions.workspace.synthetic import done_run


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the session dashboard (45-min recording) and the child profile (52 sessions)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--runs", type=int, default=20, help="requests per screen")
        parser.add_argument("--segments", type=int, default=700)
        parser.add_argument("--minutes", type=float, default=45.0)
        parser.add_argument("--sessions", type=int, default=52)
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        results: dict[str, Any] = {}
        try:
            with transaction.atomic():
                results = self._bench(options)
                raise _Rollback
        except _Rollback:
            pass
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=1))
            return
        self.stdout.write(
            f"{'screen':<34}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}{'cpu ms':>8}{'queries':>9}"
            f"{'first ms':>10}"
        )
        for name, row in results["screens"].items():
            self.stdout.write(
                f"{name:<34}{row['median_ms']:>10.1f}{row['p95_ms']:>9.1f}"
                f"{row['max_ms']:>9.1f}{row['median_cpu_ms']:>8.1f}"
                f"{row['queries']:>9}{row['first_ms']:>10.1f}"
            )
        self.stdout.write(
            "ms: wall-clock server time per request (median, 95th percentile, "
            "max); cpu ms: CPU time of the Django process (median), which "
            "excludes time waiting for PostgreSQL and for other processes; first ms: the "
            "very first request, which also stores the timeline traces of a new analysis."
        )
        self.stdout.write(
            f"data: {results['segments']} segments, {results['frames']} frames, "
            f"{results['sessions']} sessions; {results['runs']} requests per screen "
            "(rows created in a transaction that was rolled back)"
        )

    def _bench(self, options: dict[str, Any]) -> dict[str, Any]:
        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-clinic-workspace")
        therapist = User.objects.create_user(
            email="bench-therapist@bench.invalid", full_name="Bench Therapist"
        )
        Membership.objects.create(user=therapist, clinic=clinic, role=Role.THERAPIST)
        child = Child.objects.create(
            clinic=clinic,
            given_name="Bench",
            family_name="Child",
            date_of_birth=dt.date(2018, 1, 1),
        )
        child.therapists.add(therapist)
        first_day = dt.date(2025, 1, 6)
        session = None
        recording = None
        for week in range(options["sessions"]):
            session = TherapySession.objects.create(
                child=child,
                therapist=therapist,
                date=first_day + dt.timedelta(weeks=week),
                kind="group" if week % 5 == 4 else "individual",
                title=f"Week {week + 1}",
            )
            recording = Recording.objects.create(
                session=session, original_name="session.wav", sha256="0" * 64, size_bytes=1
            )
            last = week == options["sessions"] - 1
            done_run(
                recording,
                segments=options["segments"] if last else 40,
                duration_s=options["minutes"] * 60 if last else 600.0,
                seed=week,
                frame_s=0.85 if last else 5.0,
                child_share=0.3 + 0.005 * week,
            )
        assert session is not None and recording is not None
        from analysis.models import RunFrames, Segment

        segments = Segment.objects.filter(run__recording=recording).count()
        frames = len(RunFrames.objects.get(run__recording=recording).frames)
        client = Client(HTTP_HOST="localhost")
        client.force_login(therapist)
        screens = {
            "session dashboard (page)": reverse("session_detail", args=[session.pk]),
            "session timeline data (API)": reverse("api-workspace-recording", args=[recording.pk]),
            "child profile with trends (page)": reverse("child_detail", args=[child.pk]),
        }
        out: dict[str, Any] = {}
        for name, url in screens.items():
            # The first request also builds what is stored on first use (the timeline traces).
            started = time.perf_counter()
            response = client.get(url)
            first_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            times, cpu = [], []
            queries = 0
            for _ in range(options["runs"]):
                with CaptureQueriesContext(connection) as captured:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                queries = len(captured)
            times.sort()
            out[name] = {
                "median_ms": statistics.median(times),
                "median_cpu_ms": statistics.median(cpu),
                "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                "max_ms": times[-1],
                "first_ms": first_ms,
                "queries": queries,
            }
        return {
            "screens": out,
            "segments": segments,
            "frames": frames,
            "sessions": options["sessions"],
            "runs": options["runs"],
        }
