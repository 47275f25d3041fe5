"""Speaker clustering and role naming on generated two-voice conversations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.engine.speakers.diarization import (
    SpeakerParams,
    SpeakerTurn,
    _name_clusters,
    assign_speakers,
    enroll_embedding,
    median_f0,
)
from analysis.engine.speech.segmentation import Segment, detect_speech
from tests.analysis.audio_factory import espeak_available, tone
from tests.analysis.conftest import Conversation, _voice

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")


def _truth_voice(conversation: Conversation, turn: SpeakerTurn) -> str | None:
    middle = (turn.start_s + turn.end_s) / 2
    for start, end, voice in conversation.turns:
        if start - 0.1 <= middle <= end + 0.1:
            return voice
    return None


@pytest.fixture(scope="module")
def segments(conversation: Conversation) -> list[Segment]:
    return detect_speech(conversation.audio)


@needs_espeak
def test_two_voices_become_two_clusters_and_the_high_voice_is_the_child(
    conversation: Conversation, segments: list[Segment]
) -> None:
    result = assign_speakers(conversation.audio, segments)
    assert len(result.clusters) == 2
    by_role = {c.role: c for c in result.clusters}
    assert set(by_role) == {"child", "therapist"}
    child_f0, therapist_f0 = by_role["child"].median_f0_hz, by_role["therapist"].median_f0_hz
    assert child_f0 is not None and therapist_f0 is not None and child_f0 > therapist_f0
    expected = {"high": "child", "low": "therapist"}
    right = sum(
        t.duration_s
        for t in result.turns
        if expected.get(_truth_voice(conversation, t) or "") == t.role
    )
    assert right / sum(t.duration_s for t in result.turns) > 0.9
    assert all(0.0 <= t.confidence <= 1.0 for t in result.turns)
    assert all(t.start_s < t.end_s for t in result.turns)


@needs_espeak
def test_one_voice_is_one_cluster(conversation: Conversation) -> None:
    low_only = [(s, e) for s, e, voice in conversation.turns if voice == "low"]
    audio = np.concatenate(
        [conversation.audio[int(s * 16000) : int(e * 16000)] for s, e in low_only]
    )
    audio = np.concatenate([audio, np.zeros(8000, dtype=np.float32), audio[::-1].copy()])
    result = assign_speakers(audio, detect_speech(audio))
    assert len(result.clusters) == 1
    # A single low adult voice without enrollment: named therapist, with limited confidence.
    assert result.clusters[0].role == "therapist"
    assert all(t.confidence <= 0.8 for t in result.turns)


@needs_espeak
def test_enrolled_therapist_wins_over_pitch(
    conversation: Conversation, segments: list[Segment]
) -> None:
    # Enroll the HIGH voice as the therapist: enrollment must override "higher = child".
    enrollment = np.concatenate(
        [_voice("Good morning, today we will practise greetings together.", True, 0)] * 2
    )
    embedding = enroll_embedding(enrollment)
    assert embedding.shape == (256,) and np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-4)
    result = assign_speakers(conversation.audio, segments, therapist_embedding=embedding)
    therapist = [c for c in result.clusters if c.role == "therapist"]
    assert len(therapist) == 1 and therapist[0].enrollment_similarity is not None
    high_turns = [t for t in result.turns if _truth_voice(conversation, t) == "high"]
    assert high_turns and all(t.role == "therapist" for t in high_turns)
    # The other voice is the child by elimination, however low it is.
    low_turns = [t for t in result.turns if _truth_voice(conversation, t) == "low"]
    assert low_turns and all(t.role == "child" for t in low_turns)


@needs_espeak
def test_very_short_pieces_join_the_nearest_voice_with_lower_confidence(
    conversation: Conversation, segments: list[Segment]
) -> None:
    params = SpeakerParams()
    short = Segment(segments[1].start_s, segments[1].start_s + params.min_embed_s / 2)
    result = assign_speakers(conversation.audio, [*segments, short])
    blip = next(
        t
        for t in result.turns
        if t.start_s == pytest.approx(short.start_s, abs=1e-3) and t.duration_s < params.min_embed_s
    )
    full = [t for t in result.turns if t.cluster == blip.cluster and t.duration_s > 1.0]
    assert full, "the short piece joins an existing voice"
    assert blip.confidence < max(t.confidence for t in full)


def test_roles_by_pitch_and_talk_time_without_enrollment() -> None:
    params = SpeakerParams()
    roles = _name_clusters({0: 120.0, 1: 310.0}, {0: 50.0, 1: 30.0}, None, params)
    assert roles[1][0] == "child" and roles[0][0] == "therapist"
    assert roles[1][1] > 0.9  # a 190 Hz gap is unambiguous
    close = _name_clusters({0: 200.0, 1: 210.0}, {0: 50.0, 1: 30.0}, None, params)
    assert close[1][0] == "child" and close[1][1] < 0.6  # a coin toss, and it says so
    three = _name_clusters(
        {0: 120.0, 1: 310.0, 2: 180.0}, {0: 10.0, 1: 30.0, 2: 60.0}, None, params
    )
    assert [three[c][0] for c in range(3)] == ["other", "child", "therapist"]


@pytest.mark.parametrize(("f0", "role"), [(320.0, "child"), (110.0, "therapist")])
def test_a_single_voice_is_named_by_absolute_pitch(f0: float, role: str) -> None:
    roles = _name_clusters({0: f0}, {0: 60.0}, None, SpeakerParams())
    assert roles[0][0] == role and roles[0][1] <= 0.8


def test_enrollment_decides_the_therapist_even_when_pitch_disagrees() -> None:
    roles = _name_clusters(
        {0: 300.0, 1: 120.0}, {0: 40.0, 1: 40.0}, {0: 0.9, 1: 0.5}, SpeakerParams()
    )
    assert roles[0][0] == "therapist" and roles[1][0] == "child"
    unmatched = _name_clusters(
        {0: 300.0, 1: 120.0}, {0: 40.0, 1: 40.0}, {0: 0.4, 1: 0.3}, SpeakerParams()
    )
    assert unmatched[0][0] == "child"  # nobody matches the enrollment: fall back to pitch


def test_enrollment_needs_enough_speech() -> None:
    with pytest.raises(ValueError, match="speech"):
        enroll_embedding(np.zeros(5 * 16000, dtype=np.float32))


def test_no_segments_give_no_turns() -> None:
    result = assign_speakers(np.zeros(16000, dtype=np.float32), [])
    assert result.turns == [] and result.clusters == []


def test_median_f0_of_a_tone_is_its_frequency() -> None:
    audio = tone(1.0, 16000, 300.0)
    assert median_f0(audio, [(0, audio.size)]) == pytest.approx(300.0, rel=0.02)
    assert median_f0(np.zeros(16000, dtype=np.float32), [(0, 16000)]) is None


def test_build_conversation_from_ravdess_style_files(tmp_path: Path) -> None:
    """The synthetic-conversation builder on a fake RAVDESS tree (no real data needed)."""
    import soundfile as sf

    from analysis.engine.benchmarks.synthetic import build_conversation, list_clips, truth_frames

    for actor, freq in ((1, 120.0), (2, 280.0)):
        folder = tmp_path / f"Actor_{actor:02d}"
        folder.mkdir()
        for emotion in ("01", "05"):
            clip = np.concatenate([np.zeros(4000), tone(1.0, 16000, freq), np.zeros(4000)])
            sf.write(folder / f"03-01-{emotion}-01-01-01-{actor:02d}.flac", clip, 16000)
        sf.write(folder / f"03-02-01-01-01-01-{actor:02d}.flac", tone(1.0), 16000)  # song: skip
    clips = list_clips(tmp_path)
    assert len(clips) == 4 and {c.emotion for c in clips} == {"neutral", "angry"}
    conv = build_conversation(clips, (1, 2), turns=6, seed=1)
    assert conv.child_actor == 2  # the higher-pitched actor
    assert [t.actor for t in conv.turns] == [1, 2, 1, 2, 1, 2]
    # Trimming works on 25 ms frames, so the kept span may include up to ~2 frames of edge.
    assert all(t.end_s - t.start_s == pytest.approx(1.0, abs=0.06) for t in conv.turns)
    speech, active = truth_frames(conv)
    assert speech.sum() * 0.01 >= 5.0 and set(np.unique(active)) <= {0, 1, 2}
