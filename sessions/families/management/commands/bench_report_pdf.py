"""``manage.py bench_report_pdf``: time a one-year progress report as PDF (52 weekly sessions).

Builds a throwaway clinic, child and 52 analysed sessions inside a transaction that is rolled
back at the end, so nothing stays in the database. Each recording row points at no file.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from analysis.engine.labels import CANONICAL_LABELS, VALENCE_AROUSAL
from analysis.models import AnalysisRun, EmotionModelVersion, RunStatus
from sessions.families import services
from sessions.families.consent import has_consent
from sessions.families.models import ConsentPurpose
from sessions.families.pdf import report_pdf
from sessions.models import Child, Clinic, Recording, Role, TherapySession, User


class _Rollback(Exception):
    pass


def _summary(week: int) -> dict[str, Any]:
    happy = 0.15 + 0.25 * week / 52
    shares = {
        "neutral": 0.45,
        "calm": 0.1,
        "happy": happy,
        "sad": 0.35 - happy,
        "angry": 0.05,
        "fearful": 0.05,
    }
    full = {label: round(shares.get(label, 0.0), 4) for label in CANONICAL_LABELS}
    valence = sum(VALENCE_AROUSAL[k][0] * v for k, v in full.items())
    arousal = sum(VALENCE_AROUSAL[k][1] * v for k, v in full.items())
    child_s = 600.0 + 10 * week
    return {
        "duration_s": 2700.0,
        "speech_s": 1800.0,
        "segment_count": 400,
        "speakers": {
            "child": {
                "speech_s": child_s,
                "talk_share": child_s / 1800,
                "segment_count": 180,
                "emotion_share": full,
                "mean_valence": valence,
                "sd_valence": 0.2,
                "mean_arousal": arousal,
                "sd_arousal": 0.2,
            },
        },
    }


class Command(BaseCommand):
    help = "Time rendering a one-year progress report (52 weekly sessions) as PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="PDF renders to time")
        parser.add_argument("--output", default="", help="Also write the PDF to this path")

    def handle(self, *args: Any, **options: Any) -> None:
        repeat = max(1, int(options["repeat"]))
        # WeasyPrint logs every layout step at INFO; the benchmark's own line is what matters.
        logging.getLogger("weasyprint").setLevel(logging.WARNING)
        try:
            with transaction.atomic():
                self._run(repeat, str(options["output"]))
                raise _Rollback
        except _Rollback:
            self.stdout.write("Rolled back: no benchmark rows remain.")

    def _run(self, repeat: int, output: str) -> None:
        stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
        clinic = Clinic.objects.create(name="Benchmark clinic", slug=f"bench-{stamp}")
        therapist = User.objects.create_user(email=f"bench-{stamp}@example.invalid")
        clinic.memberships.create(user=therapist, role=Role.THERAPIST)
        child = Child.objects.create(
            clinic=clinic, given_name="Sam", family_name="Bench", date_of_birth=dt.date(2017, 3, 1)
        )
        child.therapists.add(therapist)
        version = EmotionModelVersion.objects.create(
            clinic=clinic,
            name="bench",
            version="1",
            source="shipped",
            kind="bench",
            location="shipped:none",
            checksum="0" * 64,
            labels=list(CANONICAL_LABELS),
        )
        start = timezone.localdate() - dt.timedelta(weeks=52)
        sessions = []
        for week in range(52):
            session = TherapySession.objects.create(
                child=child,
                therapist=therapist,
                date=start + dt.timedelta(weeks=week),
                notes="Benchmark notes",
            )
            recording = Recording.objects.create(
                session=session, original_name="bench.wav", sha256="0" * 64, status="done"
            )
            AnalysisRun.objects.create(
                recording=recording,
                model_version=version,
                status=RunStatus.DONE,
                finished_at=timezone.now(),
                summary=_summary(week),
            )
            sessions.append(session)
        for purpose in ConsentPurpose:
            services.consent_text_publish(
                clinic=clinic, purpose=purpose, body="Benchmark.", actor=None
            )
        services.consent_grant(
            child=child, purpose=ConsentPurpose.SHARING, given_by="Bench", actor=None
        )
        assert has_consent(child, ConsentPurpose.SHARING)
        report = services.report_create(
            child=child,
            actor=therapist,
            period_start=sessions[0].date,
            period_end=sessions[-1].date,
            sessions=sessions,
            title="One year",
            comments="A year of sessions.\n" * 5,
        )
        began = time.perf_counter()
        report = services.report_release(report=report, actor=therapist)
        release_s = time.perf_counter() - began
        report_pdf(report)  # warm-up: loads fonts and pango once, as a running server has
        timings = []
        pdf = b""
        for _ in range(repeat):
            began = time.perf_counter()
            pdf = report_pdf(report)
            timings.append(time.perf_counter() - began)
        if output:
            Path(output).write_bytes(pdf)
        size = len(pdf)
        self.stdout.write(
            f"One-year report, 52 sessions: release (summary) {release_s * 1000:.0f} ms; "
            f"PDF render median {statistics.median(timings):.2f} s, "
            f"min {min(timings):.2f} s, max {max(timings):.2f} s over {repeat} runs "
            f"({size / 1024:.0f} KiB, {self._pages(report)} pages)."
        )

    @staticmethod
    def _pages(report: Any) -> int:
        from weasyprint import HTML

        from sessions.families.pdf import report_pdf_html

        return len(HTML(string=report_pdf_html(report)).render().pages)
