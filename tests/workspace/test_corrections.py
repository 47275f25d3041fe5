"""Therapist corrections: stored apart from model output, shown in its place, undoable, counted
as labelled data, reflected in summaries."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, Segment
from sessions.models.audit import AuditEvent
from sessions.workspace import selectors, services
from sessions.workspace.corrections import CorrectionError
from sessions.workspace.models import RunCorrectedSummary, SegmentEdit
from tests.conftest import Cast, grant_consent
from tests.workspace.factories import done_run


@pytest.fixture
def run(cast: Cast) -> AnalysisRun:
    return done_run(cast.recording, segments=8, duration_s=40.0, seed=3)


def _post(client: APIClient, cast: Cast, body: dict[str, Any]) -> Any:
    return client.post(
        reverse("api-workspace-corrections", kwargs={"recording_id": cast.recording.pk}),
        body,
        format="json",
    )


@pytest.fixture
def therapist_api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    return client


def test_relabel_shows_the_therapists_label_and_keeps_the_models(
    therapist_api: APIClient, cast: Cast, run: AnalysisRun
) -> None:
    first = Segment.objects.get(run=run, index=0)
    new_emotion = "happy" if first.emotion != "happy" else "sad"
    model_output = (first.speaker, first.emotion, first.confidence, first.start_s, first.end_s)
    response = _post(
        therapist_api,
        cast,
        {
            "action": "label",
            "segment": f"m:{first.pk}",
            "speaker": "therapist",
            "emotion": new_emotion,
            "note": "Laughs at the puppet",
        },
    )
    assert response.status_code == 200, response.json()
    shown = response.json()["segments"][0]
    assert (shown["speaker"], shown["emotion"]) == ("therapist", new_emotion)
    assert shown["corrected"] and shown["emotion_corrected"] and shown["speaker_corrected"]
    assert (shown["model_speaker"], shown["model_emotion"]) == (first.speaker, first.emotion)
    assert shown["note"] == "Laughs at the puppet"
    assert shown["edited_by"] == str(cast.therapist)
    # Model output is untouched.
    first.refresh_from_db()
    assert (first.speaker, first.emotion, first.confidence, first.start_s, first.end_s) == (
        model_output
    )
    edit = SegmentEdit.objects.get(run=run, superseded_at__isnull=True)
    assert edit.author == cast.therapist and edit.emotion_by_therapist
    # The chart shows the correction too.
    figure = response.json()["figure"]
    texts = [
        t for trace in figure["data"] if trace.get("orientation") == "h" for t in trace["text"]
    ]
    assert any("✎" in t for t in texts)
    # Audited without the note's text.
    event = AuditEvent.objects.filter(object_type="segment", action="update").get()
    assert "puppet" not in str(event.detail)


def test_split_merge_and_undo(therapist_api: APIClient, cast: Cast, run: AnalysisRun) -> None:
    segments = selectors.effective_segments_for_run(run)
    seg = segments[2]
    middle = (seg["start_s"] + seg["end_s"]) / 2
    split = _post(therapist_api, cast, {"action": "split", "segment": seg["key"], "at_s": middle})
    assert split.status_code == 200
    after = split.json()["segments"]
    assert len(after) == len(segments) + 1
    left, right = after[2], after[3]
    assert left["start_s"] == pytest.approx(seg["start_s"])
    assert left["end_s"] == pytest.approx(middle, abs=1e-3)
    assert right["start_s"] == pytest.approx(middle, abs=1e-3)
    assert left["speaker"] == right["speaker"] == seg["speaker"]
    assert left["corrected"] and right["corrected"]

    merged = _post(therapist_api, cast, {"action": "merge", "segment": right["key"]})
    assert merged.status_code == 200
    after_merge = merged.json()["segments"]
    assert len(after_merge) == len(segments)
    assert after_merge[3]["start_s"] == pytest.approx(middle, abs=1e-3)
    assert after_merge[3]["end_s"] == pytest.approx(segments[3]["end_s"])

    undone = _post(therapist_api, cast, {"action": "undo"})
    assert len(undone.json()["segments"]) == len(segments) + 1
    undone = _post(therapist_api, cast, {"action": "undo"})
    back = undone.json()["segments"]
    assert [(s["start_s"], s["end_s"], s["emotion"]) for s in back] == [
        (s["start_s"], s["end_s"], s["emotion"]) for s in segments
    ]
    assert not any(s["corrected"] for s in back)
    nothing = _post(therapist_api, cast, {"action": "undo"})
    assert nothing.status_code == 400
    assert nothing.json()["detail"] == "There is no correction to undo."
    # History is kept: every version is still stored, none active.
    assert SegmentEdit.objects.filter(run=run).count() == 3
    assert not SegmentEdit.objects.filter(run=run, superseded_at__isnull=True).exists()


def test_impossible_corrections_say_why(
    therapist_api: APIClient, cast: Cast, run: AnalysisRun
) -> None:
    segments = selectors.effective_segments_for_run(run)
    near_edge = _post(
        therapist_api,
        cast,
        {"action": "split", "segment": segments[0]["key"], "at_s": segments[0]["start_s"] + 0.05},
    )
    assert near_edge.status_code == 400
    assert "at least 0.2 s from either end" in near_edge.json()["detail"]
    last = _post(therapist_api, cast, {"action": "merge", "segment": segments[-1]["key"]})
    assert last.status_code == 400 and "last segment" in last.json()["detail"]
    unknown = _post(
        therapist_api, cast, {"action": "label", "segment": "m:nope", "emotion": "happy"}
    )
    assert unknown.status_code == 400 and "Reload" in unknown.json()["detail"]
    bad_label = _post(
        therapist_api,
        cast,
        {"action": "label", "segment": segments[0]["key"], "emotion": "ecstatic"},
    )
    assert bad_label.status_code == 400


def test_admin_reads_but_cannot_correct_and_never_sees_notes(cast: Cast, run: AnalysisRun) -> None:
    segments = selectors.effective_segments_for_run(run)
    services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=segments[0]["key"],
        emotion="sad",
        note="Private note",
    )
    admin = APIClient()
    admin.force_login(cast.admin)
    url = reverse("api-workspace-recording", kwargs={"recording_id": cast.recording.pk})
    payload = admin.get(url).json()
    assert payload["segments"][0]["emotion"] == "sad"
    assert payload["segments"][0]["note"] == ""
    assert payload["can_edit"] is False
    assert _post(admin, cast, {"action": "undo"}).status_code == 403


def test_corrected_segments_are_training_data_only_with_consent(
    cast: Cast, run: AnalysisRun
) -> None:
    segments = selectors.effective_segments_for_run(run)
    services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=segments[1]["key"],
        emotion="angry",
    )
    # A note alone does not make a label.
    services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=segments[4]["key"],
        note="Quiet",
    )
    assert selectors.corrected_segments(child=cast.child) == []
    grant_consent(cast.child, "training")
    rows = [
        (e.run.recording, e.start_s, e.end_s, e.emotion, e.speaker)
        for e in selectors.corrected_segments(clinic=cast.clinic)
    ]
    assert rows == [
        (
            cast.recording,
            segments[1]["start_s"],
            segments[1]["end_s"],
            "angry",
            segments[1]["speaker"],
        )
    ]
    assert selectors.corrected_segments(clinic=cast.other_clinic) == []


def test_corrections_update_the_stored_summary(cast: Cast, run: AnalysisRun) -> None:
    segments = selectors.effective_segments_for_run(run)
    child_keys = [s["key"] for s in segments if s["speaker"] != "child"]
    for key in child_keys:
        services.correction_apply(
            recording=cast.recording,
            author=cast.therapist,
            action="label",
            segment=key,
            speaker="child",
        )
    stored = RunCorrectedSummary.objects.get(run=run)
    assert stored.summary["speakers"]["child"]["talk_share"] == pytest.approx(1.0)
    figures = selectors.session_figures([cast.session])[0]
    assert figures.corrected and figures.roles is not None
    assert figures.roles["child"]["talk_share"] == pytest.approx(1.0)
    # Undoing everything brings back the model's summary.
    for _ in child_keys:
        services.correction_apply(
            recording=cast.recording, author=cast.therapist, action="undo", segment=""
        )
    assert not RunCorrectedSummary.objects.filter(run=run).exists()


def test_correcting_needs_a_finished_analysis(cast: Cast) -> None:
    with pytest.raises(CorrectionError, match="no finished analysis"):
        services.correction_apply(
            recording=cast.recording, author=cast.therapist, action="undo", segment=""
        )


def test_move_changes_a_segments_boundaries_and_can_be_undone(
    therapist_api: APIClient, cast: Cast, run: AnalysisRun
) -> None:
    segments = selectors.effective_segments_for_run(run)
    seg = segments[2]
    new_start, new_end = seg["start_s"] + 0.5, seg["end_s"] + 0.3
    moved = _post(
        therapist_api,
        cast,
        {"action": "move", "segment": seg["key"], "start_s": new_start, "end_s": new_end},
    )
    assert moved.status_code == 200, moved.json()
    shown = moved.json()["segments"][2]
    assert shown["start_s"] == pytest.approx(new_start, abs=1e-3)
    assert shown["end_s"] == pytest.approx(new_end, abs=1e-3)
    assert shown["boundaries_changed"] and shown["corrected"]
    assert (shown["speaker"], shown["emotion"]) == (seg["speaker"], seg["emotion"])
    assert not shown["emotion_corrected"]
    edit = SegmentEdit.objects.get(run=run, superseded_at__isnull=True)
    assert edit.operation == "move" and not edit.emotion_by_therapist
    # Only one edge: the other one stays where it was.
    only_end = _post(
        therapist_api, cast, {"action": "move", "segment": shown["key"], "end_s": new_end - 0.6}
    )
    assert only_end.json()["segments"][2]["start_s"] == pytest.approx(new_start, abs=1e-3)
    assert only_end.json()["segments"][2]["end_s"] == pytest.approx(new_end - 0.6, abs=1e-3)
    _post(therapist_api, cast, {"action": "undo"})
    back = _post(therapist_api, cast, {"action": "undo"}).json()["segments"]
    assert (back[2]["start_s"], back[2]["end_s"]) == (seg["start_s"], seg["end_s"])


def test_impossible_moves_say_why(therapist_api: APIClient, cast: Cast, run: AnalysisRun) -> None:
    segments = selectors.effective_segments_for_run(run)
    seg = segments[1]
    too_short = _post(
        therapist_api,
        cast,
        {"action": "move", "segment": seg["key"], "end_s": seg["start_s"] + 0.1},
    )
    assert too_short.status_code == 400
    assert "at least 0.2 s long" in too_short.json()["detail"]
    outside = _post(
        therapist_api, cast, {"action": "move", "segment": segments[-1]["key"], "end_s": 99.0}
    )
    assert outside.status_code == 400 and "outside the recording" in outside.json()["detail"]
    # Over another segment of the same speaker.
    same = next((a, b) for a, b in itertools.pairwise(segments) if a["speaker"] == b["speaker"])
    over = _post(
        therapist_api,
        cast,
        {"action": "move", "segment": same[0]["key"], "end_s": same[1]["start_s"] + 0.5},
    )
    assert over.status_code == 400 and "overlap" in over.json()["detail"]
    assert not SegmentEdit.objects.filter(run=run).exists()


def test_a_relabelled_segment_keeps_the_models_confidence_and_says_where_va_come_from(
    therapist_api: APIClient, cast: Cast, run: AnalysisRun
) -> None:
    first = Segment.objects.get(run=run, index=0)
    new_emotion = "happy" if first.emotion != "happy" else "sad"
    response = _post(
        therapist_api,
        cast,
        {"action": "label", "segment": f"m:{first.pk}", "emotion": new_emotion},
    )
    shown, untouched = response.json()["segments"][:2]
    # The therapist's label is not a model estimate ...
    assert shown["confidence"] is None
    # ... but what the model said, and how sure it was, stays visible.
    assert shown["model_confidence"] == pytest.approx(first.confidence)
    assert shown["model_emotion"] == first.emotion
    # Valence/arousal are the label's fixed point, and say so; the model's elsewhere.
    from analysis.engine.labels import VALENCE_AROUSAL

    assert (shown["valence"], shown["arousal"]) == VALENCE_AROUSAL[new_emotion]
    assert shown["va_source"] == "label_mapping"
    assert untouched["va_source"] == "model"
    assert untouched["model_confidence"] == untouched["confidence"]
    export = therapist_api.get(
        reverse(
            "workspace_export",
            kwargs={"recording_id": cast.recording.pk, "filename": "segments.csv"},
        )
    )
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert rows[0]["va_source"] == "label_mapping" and rows[0]["confidence"] == ""
    assert float(rows[0]["model_confidence"]) == pytest.approx(first.confidence)
    assert rows[1]["va_source"] == "model"
