"""Reading a timeline never writes: its model-output traces are stored where a run's frames are
written (a finished analysis, the demo's synthetic runs); a run without them is drawn from
computed traces, and ``manage.py store_timelines`` stores them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunFrames
from analysis.services import run_store_results
from sessions.models import AuditEvent
from sessions.workspace.charts import TIMELINE_FORMAT
from sessions.workspace.models import RunTimeline
from sessions.workspace.synthetic import done_run, model_version
from tests.conftest import Cast
from tests.families.helpers import analyse

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    """Rows of every table but the audit log (a read is audited on purpose)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model is not AuditEvent
    }


def _timeline(cast: Cast) -> Any:
    client = APIClient()
    client.force_login(cast.therapist)
    before = _row_counts()
    response = client.get(
        reverse("api-workspace-recording", kwargs={"recording_id": cast.recording.pk})
    )
    assert response.status_code == 200
    assert _row_counts() == before
    return response.json()["figure"]


def test_a_timeline_get_without_stored_traces_draws_them_and_writes_nothing(cast: Cast) -> None:
    analyse(cast.recording, {"happy": 1.0})  # frames written without traces (an older run)
    computed = _timeline(cast)
    assert not RunTimeline.objects.exists()
    assert [t["name"] for t in computed["data"] if t.get("name")]  # the traces are drawn
    out = io.StringIO()
    call_command("store_timelines", stdout=out)
    assert "of 1 run(s)" in out.getvalue()
    assert RunTimeline.objects.get().format == TIMELINE_FORMAT
    assert _timeline(cast) == computed  # stored traces draw the same figure
    call_command("store_timelines", stdout=out)  # twice: nothing more to store
    assert "of 0 run(s)" in out.getvalue() and RunTimeline.objects.count() == 1


def test_traces_are_stored_when_a_run_s_frames_are_written(cast: Cast) -> None:
    run = done_run(cast.recording, segments=4, duration_s=20.0)
    assert RunTimeline.objects.filter(run=run, format=TIMELINE_FORMAT).exists()
    again = AnalysisRun.objects.create(
        recording=cast.recording, model_version=model_version(cast.clinic), status="processing"
    )
    frame = {"start_s": 0.0, "end_s": 1.0, "speaker": "child", "valence": 0.1, "arousal": 0.2}
    result = {
        "duration_s": 20.0,
        "segments": [],
        "frames": [{**frame, "probabilities": {"happy": 1.0}}],
        "summary": {},
        "speakers": [],
    }
    run_store_results(run=again, result=result)
    stored = RunTimeline.objects.get(run=again)
    assert stored.roles == ["child"] and RunFrames.objects.filter(run=again).exists()
    _timeline(cast)
