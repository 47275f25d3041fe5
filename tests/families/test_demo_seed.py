"""The demo's seed (what ``make demo`` runs, on its SQLite configuration) gives every screen
something to show on first login: per family a released report with figures, analysed and
reviewed practice tries, and a recording with therapist corrections; seeding again adds
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import demo_environment

pytestmark = pytest.mark.slow

COUNTS = """
import json, django
django.setup()
from sessions.exercises.models import Attempt, Exercise
from sessions.families.models import ProgressReport
from sessions.listening.models import ListeningAnswer
from sessions.models import Child
from sessions.workspace.models import SegmentEdit
out = {}
for child in Child.objects.filter(guardians__isnull=False).distinct():
    released = ProgressReport.objects.filter(child=child, status="released")
    out[child.code] = {
        "released": released.count(),
        "with_data": max([r.summary.get("sessions_with_data", 0) for r in released] or [0]),
        "tries_done": Attempt.objects.filter(child=child, status="done").count(),
        "reviewed": Attempt.objects.filter(child=child).exclude(reviewed_at=None).count(),
        "corrections": SegmentEdit.objects.filter(run__recording__session__child=child).count(),
        "listening_answers": ListeningAnswer.objects.filter(child=child).count(),
        "listening_wrong": ListeningAnswer.objects.filter(child=child, correct=False).count(),
        "report_listening": max([r.summary.get("listening", {}).get("answers", 0)
                                 for r in released] or [0]),
    }
out["generated_examples"] = sum(e.model_voice_generated for e in Exercise.objects.all())
print(json.dumps(out))
"""


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_demo_seed_fills_every_family_screen_and_is_idempotent(tmp_path: Path) -> None:
    env = demo_environment(tmp_path)
    _run(["manage.py", "migrate", "-v0"], env)
    _run(["manage.py", "seed_demo"], env)
    assert (tmp_path / "ser_portal.sqlite3").exists()
    first = json.loads(_run(["-c", COUNTS], env).strip().splitlines()[-1])
    families = {code: row for code, row in first.items() if code != "generated_examples"}
    assert set(families) == {"C-ALEX01", "C-BEA002"}
    for code, row in families.items():
        assert row["released"] >= 1, code
        assert row["with_data"] >= 1, (code, "the released report has voice figures")
        assert row["tries_done"] >= 2, code
        assert row["reviewed"] >= 1, code
        assert row["corrections"] >= 1, code
        # Two starter sets (4 + 8 clips) answered on two days of three weeks, some wrong.
        assert row["listening_answers"] == 72, code
        assert 0 < row["listening_wrong"] < 72, code
        assert row["report_listening"] == 72, (code, "the report includes listening")
    assert first["generated_examples"] >= 9  # each library exercise has its generated example

    _run(["manage.py", "seed_demo"], env)
    assert json.loads(_run(["-c", COUNTS], env).strip().splitlines()[-1]) == first
