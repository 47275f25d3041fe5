"""Speech detection with silero VAD, plus the frame-level tools used to score it."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from analysis.engine.benchmarks.synthetic import Conversation as SyntheticConversation
from analysis.engine.benchmarks.synthetic import TruthTurn, evaluate_segmentation
from analysis.engine.speech.segmentation import (
    Segment,
    detect_speech,
    frame_f1,
    get_vad_model,
    speech_mask,
    speech_probabilities,
    torch_threads,
)
from tests.analysis.audio_factory import espeak_available, tone
from tests.analysis.conftest import Conversation


def test_silence_and_faint_noise_have_no_speech() -> None:
    assert detect_speech(np.zeros(3 * 16000, dtype=np.float32)) == []
    noise = 0.003 * np.random.default_rng(0).standard_normal(5 * 16000).astype(np.float32)
    assert detect_speech(noise) == []
    assert detect_speech(np.zeros(0, dtype=np.float32)) == []


def test_a_steady_tone_is_not_speech() -> None:
    assert detect_speech(tone(4.0, 16000, 1000.0)) == []


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng speech")
def test_conversation_turns_are_found_with_high_frame_f1(conversation: Conversation) -> None:
    segments = detect_speech(conversation.audio)
    duration = conversation.audio.size / 16000
    truth = [Segment(s, e) for s, e, _ in conversation.turns]
    f1 = frame_f1(speech_mask(segments, duration), speech_mask(truth, duration))
    assert f1 > 0.85
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))
    assert all(seg.duration_s >= 0.25 for seg in segments)


def test_block_parallel_scoring_agrees_with_sequential_scoring(
    conversation: Conversation,
) -> None:
    audio = np.concatenate([conversation.audio] * 2)  # > one 10 s block, so blocks are used
    batched = speech_probabilities(audio)
    model = get_vad_model()
    with torch_threads(1), torch.inference_mode():
        model.reset_states()
        sequential = model.audio_forward(torch.from_numpy(audio), 16000).numpy()[0]
    agree = ((batched > 0.5) == (sequential[: batched.size] > 0.5)).mean()
    assert agree > 0.97


def test_loading_silero_does_not_change_torch_threads() -> None:
    before = torch.get_num_threads()
    assert get_vad_model() is get_vad_model()
    assert torch.get_num_threads() == before


def test_wrong_sample_rate_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="16000"):
        detect_speech(np.zeros(8000, dtype=np.float32), sr=8000)


def test_speech_mask_marks_frames_whose_centre_is_inside() -> None:
    mask = speech_mask([Segment(0.0, 0.05), Segment(0.1, 0.125)], 0.2, frame_s=0.01)
    assert mask.size == 20
    assert mask[:5].all() and not mask[5:10].any()
    assert mask[10:12].all() and not mask[12:].any()


def test_frame_f1() -> None:
    truth = np.array([1, 1, 0, 0], dtype=bool)
    assert frame_f1(truth, truth) == 1.0
    assert frame_f1(np.array([1, 0, 1, 0], dtype=bool), truth) == pytest.approx(0.5)
    assert frame_f1(np.zeros(4, dtype=bool), np.zeros(4, dtype=bool)) == 1.0


def test_evaluate_segmentation_maps_clusters_and_roles() -> None:
    from analysis.engine.speakers.diarization import SpeakerTurn

    conv = SyntheticConversation(
        audio=np.zeros(6 * 16000, dtype=np.float32),
        turns=[TruthTurn(0.0, 2.0, 7, "happy"), TruthTurn(3.0, 5.0, 8, "sad")],
        actors=(7, 8),
        child_actor=8,
    )
    segments = [Segment(0.0, 2.0), Segment(3.0, 5.0)]
    # Cluster ids are arbitrary: 5 is actor 7, 2 is actor 8.
    right = [SpeakerTurn(0.0, 2.0, "therapist", 0.9, 5), SpeakerTurn(3.0, 5.0, "child", 0.9, 2)]
    metrics = evaluate_segmentation(conv, segments, right)
    assert metrics["speech_f1"] == pytest.approx(1.0)
    assert metrics["speaker_accuracy"] == pytest.approx(1.0)
    assert metrics["role_accuracy"] == pytest.approx(1.0)
    swapped = [SpeakerTurn(0.0, 2.0, "child", 0.9, 5), SpeakerTurn(3.0, 5.0, "therapist", 0.9, 2)]
    metrics = evaluate_segmentation(conv, segments, swapped)
    assert metrics["speaker_accuracy"] == pytest.approx(1.0)
    assert metrics["role_accuracy"] == pytest.approx(0.0)
    merged = [SpeakerTurn(0.0, 2.0, "child", 0.9, 0), SpeakerTurn(3.0, 5.0, "child", 0.9, 0)]
    assert evaluate_segmentation(conv, segments, merged)["speaker_accuracy"] == pytest.approx(0.5)


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng speech")
def test_soft_speech_in_a_noisy_reverberant_room_is_still_found(
    conversation: Conversation,
) -> None:
    from analysis.engine.audio.conditions import (
        coloured_noise,
        mix_at_snr,
        reverberate,
        room_impulse_response,
    )

    # RT60 0.5 s, pink noise 15 dB below the speech, the whole recording 30 dB down: with
    # silero's stock threshold and no level normalisation this scored F1 0.48.
    rng = np.random.default_rng(1)
    wet = reverberate(conversation.audio, room_impulse_response(0.5, rng))
    room = mix_at_snr(wet, coloured_noise(wet.size, rng, 1.0), 15.0) * np.float32(10 ** (-30 / 20))
    duration = room.size / 16000
    truth = speech_mask([Segment(s, e) for s, e, _ in conversation.turns], duration)
    assert frame_f1(speech_mask(detect_speech(room), duration), truth) > 0.9


def test_level_gain_raises_quiet_speech_but_not_steady_noise() -> None:
    from analysis.engine.speech.segmentation import level_gain_db

    rng = np.random.default_rng(0)
    bursts = np.zeros(4 * 16000, dtype=np.float32)
    bursts[16000:32000] = 0.01 * np.sin(np.linspace(0, 2000, 16000))  # -43 dBFS "speech"
    bursts += (1e-4 * rng.standard_normal(bursts.size)).astype(np.float32)
    assert level_gain_db(bursts) == pytest.approx(24.0)  # capped
    assert level_gain_db(0.05 * rng.standard_normal(16000).astype(np.float32)) == 0.0
    assert level_gain_db(np.zeros(16000, dtype=np.float32)) == 0.0
    assert level_gain_db(0.5 * np.sign(bursts)) == 0.0  # already loud


def test_frame_power_in_chunks_equals_squaring_the_whole_recording() -> None:
    from analysis.engine.speech.segmentation import FRAME_SAMPLES, _frame_power

    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal(10 * FRAME_SAMPLES + 77)).astype(np.float32)
    whole = (audio[: 10 * FRAME_SAMPLES].astype(np.float64).reshape(10, -1) ** 2).mean(axis=1)
    for chunk in (1, 3, 10, 1 << 14):
        assert np.array_equal(_frame_power(audio, 10, chunk=chunk), whole)


def test_two_streams_score_exactly_as_one(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.engine.speech import segmentation

    # Groups of two 10 s blocks, so this recording makes several groups for the two streams.
    monkeypatch.setattr(segmentation, "_BLOCKS_PER_BATCH", 2)
    audio = np.concatenate([conversation.audio] * 3)
    assert audio.size > 3 * 2 * 10 * 16000  # four groups or more
    monkeypatch.setattr(segmentation, "_STREAMS", 1)
    one = speech_probabilities(audio)
    monkeypatch.setattr(segmentation, "_STREAMS", 2)
    two = speech_probabilities(audio)
    assert len(segmentation.vad_models(2)) == 2
    assert segmentation.vad_models(2)[0] is get_vad_model()
    assert segmentation.vad_models(2)[1] is not get_vad_model()
    assert np.array_equal(one, two)


def test_blocks_of_digital_silence_are_not_run_and_detection_is_the_same(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.engine.speech import segmentation

    sr = 16000
    # Speech, 45 s of exact zeros (a muted microphone: at least three whole 10 s blocks with
    # their 2 s warm-up), speech again.
    speech = conversation.audio
    audio = np.concatenate([speech, np.zeros(45 * sr, np.float32), speech])
    segmentation.speech_probabilities(np.zeros(20 * sr, np.float32))  # the silent block, once
    model = get_vad_model()
    forward = model.audio_forward
    rows_run: list[int] = []

    def counting_forward(x: Any, sr: int) -> Any:
        rows_run.append(int(x.shape[0]))
        return forward(x, sr)

    monkeypatch.setattr(model, "audio_forward", counting_forward)
    skipping = speech_probabilities(audio)
    run_skipping = sum(rows_run)
    segments = detect_speech(audio)
    rows_run.clear()
    monkeypatch.setattr(segmentation, "_silent_rows", lambda rows: np.zeros(len(rows), bool))
    every = speech_probabilities(audio)
    assert sum(rows_run) - run_skipping >= 3
    assert np.abs(skipping - every).max() < 1e-6
    assert detect_speech(audio) == segments
    inside = slice((speech.size + 2 * sr) // 512, (speech.size + 43 * sr) // 512)
    assert skipping[inside].max() < 0.05
