"""The whole pipeline on generated audio with a tiny model: document shape, stages, edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.audio.decode import AudioError
from analysis.engine.classifiers.hf import HFAudioClassifier
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.pipeline import STAGES, AnalysisResult, analyze_array, analyze_file
from tests.analysis.audio_factory import (
    encode_with_ffmpeg,
    ffmpeg_available,
    write_bad_file,
    write_silence_wav,
    write_wav,
)
from tests.analysis.conftest import Conversation

SEGMENT_KEYS = {
    "start_s",
    "end_s",
    "speaker",
    "speaker_confidence",
    "cluster",
    "emotion",
    "confidence",
    "uncertain",
    "uncertain_reason",
    "quality",
    "valence",
    "arousal",
    "probabilities",
}
SPEAKER_KEYS = {
    "cluster",
    "label",
    "role",
    "role_confidence",
    "role_source",
    "voice_key",
    "voice_similarity",
    "median_f0_hz",
    "speech_s",
}
FRAME_KEYS = {"start_s", "end_s", "speaker", "probabilities", "valence", "arousal"}


@pytest.fixture(scope="module")
def analysed(conversation: Conversation, tiny_classifier: HFAudioClassifier):
    calls: list[tuple[str, int]] = []
    result = analyze_array(
        conversation.audio, tiny_classifier, progress=lambda s, p: calls.append((s, p))
    )
    return result, calls


def test_document_has_exactly_the_agreed_shape(analysed: tuple[AnalysisResult, list]) -> None:
    result, _ = analysed
    doc = json.loads(json.dumps(result.to_dict()))
    assert set(doc) == {
        "duration_s",
        "segments",
        "frames",
        "summary",
        "speakers",
        "no_speech",
        "timings",
    }
    assert doc["no_speech"] is False and doc["segments"] and doc["frames"]
    for segment in doc["segments"]:
        assert set(segment) == SEGMENT_KEYS
        assert segment["speaker"] in {"child", "therapist", "unknown"}
        assert 0 <= segment["cluster"] < len(doc["speakers"])
        assert segment["emotion"] in CANONICAL_LABELS
        assert set(segment["probabilities"]) == set(CANONICAL_LABELS)
        assert sum(segment["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert 0 <= segment["confidence"] <= 1 and 0 <= segment["speaker_confidence"] <= 1
        assert -1 <= segment["valence"] <= 1 and -1 <= segment["arousal"] <= 1
        assert isinstance(segment["uncertain"], bool)
        assert segment["uncertain"] == bool(segment["uncertain_reason"])
        assert set(segment["quality"]) == {
            "duration_s",
            "level_dbfs",
            "snr_db",
            "clipped_share",
            "speech_ratio",
        }
    for frame in doc["frames"]:
        assert set(frame) == FRAME_KEYS
    assert [s["label"] for s in doc["speakers"]] == ["A", "B"][: len(doc["speakers"])]
    for speaker in doc["speakers"]:
        assert set(speaker) == SPEAKER_KEYS
    starts = [s["start_s"] for s in doc["segments"]]
    assert starts == sorted(starts)
    assert set(doc["timings"]) == {"segmenting", "speakers", "emotion", "summary"}
    assert doc["summary"]["overall"]["segment_count"] == len(doc["segments"])
    assert doc["duration_s"] == pytest.approx(result.duration_s, abs=1e-3)


def test_segments_follow_the_conversation(
    analysed: tuple[AnalysisResult, list], conversation: Conversation
) -> None:
    result, _ = analysed
    speech = sum(s.duration_s for s in result.segments)
    truth = sum(e - s for s, e, _ in conversation.turns)
    assert speech == pytest.approx(truth, rel=0.25)
    # No voice prints given: two lanes, neither presented as the child.
    assert {s.speaker for s in result.segments} == {"unknown"}
    assert {s.cluster for s in result.segments} == {0, 1}


def test_progress_walks_through_the_stages_in_order(
    analysed: tuple[AnalysisResult, list],
) -> None:
    _, calls = analysed
    stages = [s for s, _ in calls]
    order = [STAGES.index(s) for s in stages]
    assert order == sorted(order)
    assert set(stages) == {"segmenting", "speakers", "emotion", "summary", "done"}
    percents = [p for _, p in calls]
    assert percents == sorted(percents) and percents[-1] == 100


def test_silence_is_a_result_without_speech_not_an_error(
    tiny_classifier: HFAudioClassifier,
) -> None:
    result = analyze_array(np.zeros(5 * 16000, dtype=np.float32), tiny_classifier)
    doc = result.to_dict()
    assert doc["no_speech"] is True and doc["segments"] == [] and doc["frames"] == []
    assert doc["summary"]["speech_s"] == 0.0
    assert doc["summary"]["speakers"]["child"]["talk_share"] == 0.0


def test_analyze_file_decodes_and_reports_the_decoding_stage(
    conversation: Conversation, tiny_classifier: HFAudioClassifier, tmp_path: Path
) -> None:
    wav = write_wav(tmp_path / "talk.wav", conversation.audio, 16000)
    path = encode_with_ffmpeg(wav, tmp_path / "talk.m4a") if ffmpeg_available() else wav
    stages: list[str] = []
    result = analyze_file(path, tiny_classifier, progress=lambda s, p: stages.append(s))
    assert stages[0] == "decoding" and stages[-1] == "done"
    assert "decoding" in result.timings
    assert result.duration_s == pytest.approx(conversation.audio.size / 16000, abs=0.1)
    assert result.segments and result.decode_stats is not None


def test_analyze_file_of_silence_reports_no_speech(
    tiny_classifier: HFAudioClassifier, tmp_path: Path
) -> None:
    result = analyze_file(write_silence_wav(tmp_path / "q.wav", 3.0), tiny_classifier)
    assert result.no_speech and result.to_dict()["segments"] == []


def test_analyze_file_refuses_bad_files_with_audio_errors(
    tiny_classifier: HFAudioClassifier, tmp_path: Path
) -> None:
    with pytest.raises(AudioError) as caught:
        analyze_file(write_bad_file("html_as_wav", tmp_path / "x.wav"), tiny_classifier)
    assert caught.value.code == "not_audio"


def test_analyze_array_resamples_and_repairs_input(
    conversation: Conversation, tiny_classifier: HFAudioClassifier
) -> None:
    import soxr

    audio = soxr.resample(conversation.audio[: 5 * 16000], 16000, 8000).astype(np.float32)
    audio[100:200] = np.nan
    result = analyze_array(audio, tiny_classifier, sr=8000)
    assert result.duration_s == pytest.approx(5.0, abs=0.01)
    assert all(np.isfinite(s.probabilities).all() for s in result.segments)


def test_known_voices_name_the_lanes_in_the_document(
    conversation: Conversation, tiny_classifier: HFAudioClassifier
) -> None:
    from analysis.engine.speakers.diarization import KnownVoice, enroll_embedding
    from tests.analysis.conftest import _voice

    sample = np.concatenate([_voice("Good morning, shall we start with greetings?", True, 0)] * 2)
    voice = KnownVoice("therapist:7", "therapist", "Sam", enroll_embedding(sample))
    result = analyze_array(conversation.audio, tiny_classifier, voices=[voice], expected_speakers=2)
    doc = json.loads(json.dumps(result.to_dict()))
    lanes = {s["cluster"]: s for s in doc["speakers"]}
    assert sorted((s["role"], s["role_source"]) for s in lanes.values()) == [
        ("child", "elimination"),
        ("therapist", "print"),
    ]
    therapist = next(s for s in lanes.values() if s["role"] == "therapist")
    assert therapist["voice_key"] == "therapist:7" and therapist["voice_similarity"] >= 0.6
    assert all(seg["speaker"] == lanes[seg["cluster"]]["role"] for seg in doc["segments"])
    assert "centroid" not in therapist  # a voice print stays out of the exportable document
    assert all(np.linalg.norm(c.centroid) == pytest.approx(1.0, abs=1e-4) for c in result.speakers)
