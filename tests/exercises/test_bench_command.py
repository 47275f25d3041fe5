"""``manage.py bench_feedback`` runs end to end (tiny sizes, tiny model) and cleans up."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from sessions.exercises.models import Attempt
from sessions.models import Clinic
from tests.model_factory import registered_tiny_model

pytestmark = [pytest.mark.slow]


def test_bench_feedback_measures_latency_during_a_session_analysis(
    transactional_db: Any, tmp_path: Path
) -> None:
    model = registered_tiny_model(tmp_path / "model")
    out = io.StringIO()
    call_command(
        "bench_feedback", "--session-minutes", "1", "--attempts", "2", "--pause", "0",
        "--model", str(model), "--json", str(tmp_path / "bench.json"), stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "Feedback latency (upload finished -> feedback stored)" in text, text
    results = json.loads((tmp_path / "bench.json").read_text())
    assert [row["status"] for row in results["rows"]] == ["done", "done"]
    assert all(row["latency_s"] > 0 for row in results["rows"])
    assert results["summary"]["first_s"] == results["rows"][0]["latency_s"]
    # The benchmark's clinic, child and attempts are gone again.
    assert not Clinic.objects.filter(slug__startswith="bench-feedback-").exists()
    assert not Attempt.objects.exists()
