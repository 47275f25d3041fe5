"""Naming voices: "Who is Speaker A?" once per voice, every segment of it follows, audited and
undoable; confidences in the segment list; never "child" without an anchor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, LaneNaming, Segment, SpeakerLane, VoiceEnrollment
from analysis.services import run_store_results
from analysis.voices import selectors as voices
from sessions.models import AuditEvent
from sessions.workspace import selectors
from sessions.workspace.models import RunCorrectedSummary, SegmentEdit
from sessions.workspace.synthetic import model_version
from tests.conftest import Cast
from tests.workspace.voices import centroid, voiced_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist_api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    return client


def _name(client: APIClient, cast: Cast, **body: Any) -> Any:
    return client.post(
        reverse("api-workspace-speaker-name", kwargs={"recording_id": cast.recording.pk}),
        body,
        format="json",
    )


def _workspace(client: APIClient, cast: Cast) -> dict[str, Any]:
    url = reverse("api-workspace-recording", kwargs={"recording_id": cast.recording.pk})
    return dict(client.get(url).json())


def _child_key(cast: Cast) -> str:
    return f"child:{cast.child.pk}"


def test_stored_results_keep_each_segments_voice_and_the_voices(cast: Cast) -> None:
    run = AnalysisRun.objects.create(
        recording=cast.recording, model_version=model_version(cast.clinic), status="processing"
    )
    segment = {
        "speaker_confidence": 0.7,
        "emotion": "neutral",
        "confidence": 0.6,
        "uncertain": False,
        "valence": 0.0,
        "arousal": 0.0,
        "probabilities": {"neutral": 1.0},
    }
    document = {
        "duration_s": 10.0,
        "segments": [
            {**segment, "start_s": 0.0, "end_s": 2.0, "speaker": "unknown", "cluster": 1},
            {**segment, "start_s": 3.0, "end_s": 5.0, "speaker": "therapist", "cluster": 0},
        ],
        "frames": [],
        "summary": {},
        "speakers": [
            {
                "cluster": 0,
                "label": "A",
                "role": "therapist",
                "role_confidence": 0.9,
                "voice_key": f"therapist:{cast.therapist.pk}",
                "speech_s": 2.0,
            },
            {
                "cluster": 1,
                "label": "B",
                "role": "unknown",
                "role_confidence": 0.8,
                "voice_key": None,
                "speech_s": 2.0,
            },
        ],
    }
    centroids = {"A": centroid(1), "B": centroid(2)}
    for _ in range(2):  # a repeated delivery leaves the same rows
        run_store_results(run=run, result=document, voice_centroids=centroids)
    assert list(Segment.objects.filter(run=run).values_list("cluster", flat=True)) == ["B", "A"]
    lanes = {lane.label: lane for lane in SpeakerLane.objects.filter(run=run)}
    assert set(lanes) == {"A", "B"}
    assert lanes["A"].voice_key == f"therapist:{cast.therapist.pk}"
    assert lanes["B"].role == "unknown" and lanes["B"].centroid == centroids["B"]


def test_without_a_print_no_voice_is_the_child_and_each_is_asked_for(
    client: Any, therapist_api: APIClient, cast: Cast
) -> None:
    voiced_run(cast.recording)
    data = _workspace(therapist_api, cast)
    assert [lane["display"] for lane in data["lanes"]] == ["Speaker A", "Speaker B"]
    assert all(lane["needs_name"] and lane["role"] == "unknown" for lane in data["lanes"])
    assert {s["speaker"] for s in data["segments"]} == {"unknown"}
    # Every segment carries its voice and a confidence for the list.
    assert all(s["cluster"] in ("A", "B") and s["speaker_confidence"] for s in data["segments"])
    client.force_login(cast.therapist)
    page = client.get(reverse("session_detail", args=[cast.session.pk])).content.decode()
    assert "Who is <strong>Speaker A</strong>?" in page
    assert "Who is <strong>Speaker B</strong>?" in page
    # The session's figures count no child speech until a voice is named as the child.
    run = selectors.shown_run(cast.recording)
    assert run is not None and run.summary["speakers"]["child"]["speech_s"] == 0.0
    assert run.summary["speakers"]["unknown"]["speech_s"] == run.summary["speech_s"]


def test_naming_a_voice_relabels_all_its_segments_audited_and_undoable(
    therapist_api: APIClient, cast: Cast
) -> None:
    run = voiced_run(cast.recording)
    response = _name(therapist_api, cast, lane="A", person=_child_key(cast))
    assert response.status_code == 200, response.json()
    body = response.json()
    by_voice: dict[str, set[str]] = {}
    for seg in body["segments"]:
        by_voice.setdefault(seg["cluster"], set()).add(seg["speaker"])
    assert by_voice == {"A": {"child"}, "B": {"unknown"}}
    lane_a = next(lane for lane in body["lanes"] if lane["label"] == "A")
    assert lane_a["person"] == cast.child.display_name and lane_a["named_by_therapist"]
    assert not lane_a["needs_name"]
    # One correction: one batch, one edit per segment of that voice.
    edits = SegmentEdit.objects.filter(run=run, superseded_at__isnull=True)
    assert edits.count() == 4 and len({e.batch for e in edits}) == 1
    assert all(e.speaker_by_therapist and e.author == cast.therapist for e in edits)
    event = AuditEvent.objects.get(object_type="segment", action="update")
    assert event.detail == {"action": "name_lane", "lane": "A", "role": "child", "segments": 4}
    # The child's figures now count exactly that voice.
    lane_speech = sum(s["end_s"] - s["start_s"] for s in body["segments"] if s["cluster"] == "A")
    stored = RunCorrectedSummary.objects.get(run=run).summary
    assert stored["speakers"]["child"]["speech_s"] == pytest.approx(lane_speech, abs=1e-3)

    undo = therapist_api.post(
        reverse("api-workspace-corrections", kwargs={"recording_id": cast.recording.pk}),
        {"action": "undo"},
        format="json",
    )
    assert undo.status_code == 200
    assert {s["speaker"] for s in undo.json()["segments"]} == {"unknown"}
    assert all(lane["needs_name"] for lane in _workspace(therapist_api, cast)["lanes"])


def test_this_voice_is_alex_from_one_segment_names_the_whole_voice(
    therapist_api: APIClient, cast: Cast
) -> None:
    voiced_run(cast.recording)
    segments = _workspace(therapist_api, cast)["segments"]
    one_of_b = next(s for s in segments if s["cluster"] == "B")
    person = f"therapist:{cast.therapist.pk}"
    response = _name(therapist_api, cast, segment=one_of_b["key"], person=person)
    assert response.status_code == 200, response.json()
    speakers = {(s["cluster"], s["speaker"]) for s in response.json()["segments"]}
    assert speakers == {("A", "unknown"), ("B", "therapist")}


def test_naming_improves_the_persons_print_until_undone(
    therapist_api: APIClient, cast: Cast
) -> None:
    enrolled = np.asarray(centroid(9))
    VoiceEnrollment.objects.create(user=cast.therapist, embedding=enrolled.tolist(), speech_s=10)
    run = voiced_run(cast.recording)
    lane_b = np.asarray(SpeakerLane.objects.get(run=run, label="B").centroid)
    before = voices.therapist_print(cast.therapist.pk)
    assert before is not None and np.allclose(before, enrolled, atol=1e-5)
    _name(therapist_api, cast, lane="B", person=f"therapist:{cast.therapist.pk}")
    after = voices.therapist_print(cast.therapist.pk)
    assert after is not None
    assert float(after @ lane_b) > float(enrolled @ lane_b)  # moved towards the named voice
    assert np.linalg.norm(after) == pytest.approx(1.0, abs=1e-5)
    therapist_api.post(
        reverse("api-workspace-corrections", kwargs={"recording_id": cast.recording.pk}),
        {"action": "undo"},
        format="json",
    )
    undone = voices.therapist_print(cast.therapist.pk)
    assert undone is not None and np.allclose(undone, enrolled, atol=1e-5)


def test_a_therapist_who_forgets_their_voice_is_not_recognised_by_named_lanes(
    therapist_api: APIClient, cast: Cast
) -> None:
    from analysis.enrollment.services import voice_forget

    VoiceEnrollment.objects.create(user=cast.therapist, embedding=centroid(9), speech_s=10)
    voiced_run(cast.recording)
    _name(therapist_api, cast, lane="B", person=f"therapist:{cast.therapist.pk}")
    assert voices.therapist_print(cast.therapist.pk) is not None
    voice_forget(user=cast.therapist)
    assert voices.therapist_print(cast.therapist.pk) is None


def test_group_session_names_another_child_on_a_lane_of_their_own(
    therapist_api: APIClient, cast: Cast
) -> None:
    cast.session.other_children.add(cast.other_child)
    voiced_run(cast.recording)
    response = _name(therapist_api, cast, lane="B", person=f"child:{cast.other_child.pk}")
    assert response.status_code == 200, response.json()
    lane_b = next(lane for lane in response.json()["lanes"] if lane["label"] == "B")
    assert lane_b["person"] == cast.other_child.display_name
    # Not the session's child: their speech never counts in this child's figures.
    assert lane_b["role"] == "other"
    assert {s["speaker"] for s in response.json()["segments"] if s["cluster"] == "B"} == {"other"}


def test_a_matched_print_is_named_without_asking(therapist_api: APIClient, cast: Cast) -> None:
    voiced_run(
        cast.recording,
        roles=("therapist", "child"),
        voice_keys=(f"therapist:{cast.therapist.pk}", _child_key(cast)),
    )
    lanes = _workspace(therapist_api, cast)["lanes"]
    assert [(lane["display"], lane["needs_name"]) for lane in lanes] == [
        (f"{cast.therapist} (therapist)", False),
        (cast.child.display_name, False),
    ]
    assert lanes[0]["role_confidence"] == 0.9


def test_only_participants_can_be_named_and_refusals_say_why(
    therapist_api: APIClient, cast: Cast
) -> None:
    voiced_run(cast.recording)
    # The other child of the clinic did not take part in this session.
    refused = _name(therapist_api, cast, lane="A", person=f"child:{cast.other_child.pk}")
    assert refused.status_code == 400
    assert "took part" in refused.json()["detail"]
    missing = _name(therapist_api, cast, lane="Q", person=_child_key(cast))
    assert missing.status_code == 400 and "reload" in missing.json()["detail"]
    nothing = _name(therapist_api, cast, person=_child_key(cast))
    assert nothing.status_code == 400
    assert not LaneNaming.objects.exists() and not SegmentEdit.objects.exists()


def test_the_page_form_names_a_voice_and_comes_back(client: Any, cast: Cast) -> None:
    voiced_run(cast.recording)
    client.force_login(cast.therapist)
    url = reverse("workspace_lane_name", args=[cast.recording.pk])
    response = client.post(url, {"lane": "A", "person": _child_key(cast)}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Speaker A is named in every segment" in page
    assert "Who is <strong>Speaker A</strong>?" not in page
    assert "Who is <strong>Speaker B</strong>?" in page
    bad = client.post(url, {"lane": "A", "person": "child:nobody"}, follow=True)
    assert "The voice was not named" in bad.content.decode()


def test_the_timeline_has_one_lane_per_unnamed_voice(therapist_api: APIClient, cast: Cast) -> None:
    voiced_run(cast.recording)

    def lanes(figure: dict[str, Any]) -> set[str]:
        return {y for t in figure["data"] if t.get("orientation") == "h" for y in t["y"]}

    figure = _workspace(therapist_api, cast)["figure"]
    assert lanes(figure) == {"Speaker A", "Speaker B"}
    assert {"Speaker A", "Speaker B"} <= set(figure["layout"]["yaxis"]["ticktext"])
    named = _name(therapist_api, cast, lane="A", person=_child_key(cast)).json()["figure"]
    assert lanes(named) == {"child", "Speaker B"}


def test_the_segments_export_carries_each_voice_and_role_confidence(cast: Cast) -> None:
    import csv
    import io

    from django.test import Client

    voiced_run(cast.recording, segments=4)
    client = Client()
    client.force_login(cast.therapist)
    url = reverse("workspace_export", args=[cast.recording.pk, "segments.csv"])
    response = client.get(url)
    body = response.getvalue()
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["cluster"] for r in rows] == ["A", "B", "A", "B"]
    assert all(float(r["speaker_confidence"]) == 0.8 for r in rows)


def test_a_voice_named_only_by_elimination_is_still_asked_for(client: Any, cast: Cast) -> None:
    """Therapist print matched, the other voice taken for the child as the only one left: the
    therapist is asked to confirm it, and told why the analysis thinks so."""
    voiced_run(
        cast.recording,
        roles=("therapist", "child"),
        voice_keys=(f"therapist:{cast.therapist.pk}", ""),
    )
    client.force_login(cast.therapist)
    page = client.get(reverse("session_detail", args=[cast.session.pk])).content.decode()
    assert "Who is <strong>Speaker A</strong>?" not in page
    assert "Who is <strong>Speaker B</strong>?" in page
    assert "takes it for the child as the only other voice, 90% sure" in page


def test_a_recording_analysed_before_voices_were_kept_says_its_roles_are_a_guess(
    client: Any, cast: Cast
) -> None:
    from tests.workspace.factories import done_run

    done_run(cast.recording, segments=4)  # no voices stored: roles as the old pipeline set them
    client.force_login(cast.therapist)
    page = client.get(reverse("session_detail", args=[cast.session.pk])).content.decode()
    assert "its speaker roles are a guess from pitch" in page
    assert "Voices in this recording" not in page
