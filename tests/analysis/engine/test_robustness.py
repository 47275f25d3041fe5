"""Recording conditions, robust features, calibration, audio quality and the session scorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.engine.audio import conditions as C
from analysis.engine.audio import quality
from analysis.engine.benchmarks.sessions import Utterance, score_segments
from analysis.engine.classifiers import load_classifier
from analysis.engine.classifiers.features import normalise_level, robust_acoustic_features
from analysis.engine.classifiers.features_head import Head, HeadEnsemble, write_model
from analysis.engine.emotion.turns import EmotionParams, judge_turn
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from analysis.engine.training.robustness import (
    Recipe,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliable_confidence,
    run_benchmark,
)
from tests.analysis.audio_factory import speechlike

SR = 16000


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    return speechlike(3.0, seed=1).astype(np.float32)


def _snr(clean: np.ndarray, noisy: np.ndarray) -> float:
    return 10 * np.log10(C.speech_power(clean) / np.mean((noisy - clean) ** 2))


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize("condition", C.BENCHMARK_CONDITIONS, ids=lambda c: c.name)
def test_every_benchmark_condition_keeps_length_and_is_finite(condition, voice):
    talkers = [speechlike(2.0, seed=s, f0=180.0 + 20 * s) for s in range(4)]
    out = condition.apply(voice, np.random.default_rng(0), talkers)
    assert out.dtype == np.float32
    assert out.shape == voice.shape
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= 1.0 + 1e-6


def test_conditions_are_deterministic_per_seed(voice):
    cond = C.condition_by_name("reverb_noise_opus")
    a = cond.apply(voice, np.random.default_rng(5), [])
    b = cond.apply(voice, np.random.default_rng(5), [])
    c = cond.apply(voice, np.random.default_rng(6), [])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_noise_is_mixed_at_the_requested_snr(voice):
    noise = C.coloured_noise(voice.size, np.random.default_rng(0), 1.0)
    noisy = C.mix_at_snr(voice, noise, 10.0)
    assert _snr(voice, noisy) == pytest.approx(10.0, abs=0.2)


def test_quieter_condition_is_twenty_db_down(voice):
    out = C.condition_by_name("quieter_20db").apply(voice, np.random.default_rng(0), [])
    ratio = 20 * np.log10(np.abs(out).max() / np.abs(voice).max())
    assert ratio == pytest.approx(-20.0, abs=0.01)


def test_telephone_removes_the_high_band(voice):
    out = C.telephone(voice)
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(out.size, 1 / SR)
    assert spectrum[freqs > 4500].sum() < 1e-3 * spectrum.sum()


def test_opus_roundtrip_keeps_the_voice_and_loses_detail(voice):
    out = C.opus_webm(voice, bitrate=24000)
    corr = np.corrcoef(voice, out)[0, 1]
    assert 0.5 < corr < 0.9999


def test_reverb_spreads_energy_in_time():
    impulse = np.zeros(SR, dtype=np.float32)
    impulse[100] = 0.5
    wet = C.reverberate(impulse, C.room_impulse_response(0.6, np.random.default_rng(0)))
    tail = np.sum(wet[100 + 800 :] ** 2)  # later than 50 ms after the direct sound
    assert tail > 0.1 * np.sum(wet**2)


def test_room_gives_one_response_per_talker():
    rirs = C.room_impulse_responses(0.4, np.random.default_rng(0), 3)
    assert len(rirs) == 3
    assert not np.array_equal(rirs[0][:2000], rirs[1][:2000])


def test_child_like_raises_the_pitch(voice):
    from analysis.engine.speakers.diarization import median_f0

    up = C.child_like(voice, 5.0)
    f0_voice = median_f0(voice, [(0, voice.size)])
    f0_up = median_f0(up, [(0, up.size)])
    assert f0_voice and f0_up
    assert 12 * np.log2(f0_up / f0_voice) == pytest.approx(5.0, abs=1.0)


def test_augmenter_is_seeded_and_varied(voice):
    augment = C.multi_condition_augmenter([speechlike(2.0, seed=9)])
    a = augment(voice, np.random.default_rng([0, 1, 2]))
    b = augment(voice, np.random.default_rng([0, 1, 2]))
    outs = [augment(voice, np.random.default_rng([0, 1, k])) for k in range(6)]
    assert np.array_equal(a, b)
    assert len({round(float(np.std(o)), 6) for o in outs}) > 1
    assert all(o.shape == voice.shape and np.isfinite(o).all() for o in outs)


# --- robust features ------------------------------------------------------------------------


def test_level_normalisation_ignores_gain_and_silence(voice):
    padded = np.concatenate([np.zeros(SR, np.float32), voice, np.zeros(2 * SR, np.float32)])
    for audio in (voice * 0.01, voice, padded * 0.1):
        frames = normalise_level(audio)
        db = quality.frame_db(frames)
        assert np.percentile(db, 95) == pytest.approx(-20.0, abs=1.5)


def test_robust_features_do_not_change_with_recording_level(voice):
    loud = robust_acoustic_features(voice)
    quiet = robust_acoustic_features(voice * 10 ** (-30 / 20))
    # Relative difference, feature by feature: the level is normalised away.
    scale = np.abs(loud) + 1.0
    assert np.max(np.abs(loud - quiet) / scale) < 0.02


def test_robust_features_move_less_than_v1_under_noise(voice):
    from analysis.engine.classifiers.features import acoustic_features

    noisy = C.mix_at_snr(voice, C.coloured_noise(voice.size, np.random.default_rng(1), 0.0), 15)
    quiet = voice * 0.05

    def shift(extract):
        base = extract(voice)
        return float(np.linalg.norm(extract(quiet) - base) / (np.linalg.norm(base) + 1e-9))

    assert shift(robust_acoustic_features) < shift(acoustic_features)
    assert np.isfinite(robust_acoustic_features(noisy)).all()


# --- calibration ------------------------------------------------------------------------------


def _overconfident(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that claim ~0.95 but are right ~60% of the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 8, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, 8, n))
    probs = np.full((n, 8), 0.05 / 7)
    probs[np.arange(n), pred] = 0.95
    return probs, y


def test_temperature_fixes_overconfidence():
    probs, y = _overconfident()
    before = expected_calibration_error(probs, y)
    t = fit_temperature(probs, y)
    after = expected_calibration_error(apply_temperature(probs, t), y)
    assert t > 1.0
    assert before > 0.25
    assert after < 0.05


def test_temperature_keeps_the_argmax():
    probs, _ = _overconfident()
    assert np.array_equal(apply_temperature(probs, 3.0).argmax(1), probs.argmax(1))


def test_ece_is_zero_for_perfect_calibration():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == 0.0
    assert expected_calibration_error(probs, np.array([1, 0])) == 1.0


def test_reliable_confidence_is_where_accuracy_reaches_the_target():
    confidence = np.linspace(0.4, 0.9, 100)
    rest = (1 - confidence) / 2
    probs = np.stack([confidence, rest, rest], axis=1)  # always predicts class 0
    y = np.where(confidence > 0.6, 0, 1)  # right exactly when confidence is above 0.6
    floor = reliable_confidence(probs, y, min_accuracy=0.9)
    above = confidence >= floor
    assert (probs[above].argmax(1) == y[above]).mean() >= 0.9
    # One step lower and the accuracy above the floor would fall under the target.
    lower = confidence >= floor - 0.0051
    assert (probs[lower].argmax(1) == y[lower]).mean() < 0.9
    assert 0.5 < floor < 0.61


def test_head_ensemble_stores_and_applies_its_temperature(tmp_path: Path):
    k = len(CANONICAL_LABELS)
    head = Head(
        ops=[{"op": "linear", "weight": "w", "bias": "b"}],
        arrays={"w": np.eye(k, 3), "b": np.zeros(k)},
    )
    plain = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=[head])
    soft = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=[head], temperature=2.5)
    x = np.array([[4.0, 0.0, 0.0]])
    assert soft.predict_proba(x).max() < plain.predict_proba(x).max()
    write_model(tmp_path, soft, features="acoustic2", name="t", version="1", architecture="t")
    loaded = load_classifier(tmp_path)
    assert loaded.ensemble.temperature == 2.5  # type: ignore[attr-defined]
    np.testing.assert_allclose(loaded.ensemble.predict_proba(x), soft.predict_proba(x))  # type: ignore[attr-defined]


# --- quality and uncertain reasons -----------------------------------------------------------


def test_quality_measures_snr_against_the_floor(voice):
    noise = C.coloured_noise(voice.size, np.random.default_rng(0), 0.0)
    clean_q = quality.measure(voice + 1e-4 * noise)
    noisy_q = quality.measure(C.mix_at_snr(voice, noise, 0.0))
    assert clean_q.snr_db > 30
    assert noisy_q.snr_db < 10
    assert clean_q.duration_s == pytest.approx(3.0)


def test_quality_flags_clipping(voice):
    q = quality.measure(C.clipping(voice, 15.0))
    assert q.clipped_share > quality.MAX_CLIPPED_SHARE
    assert quality.problem(q, 0.9, 0.4) == "clipped"


@pytest.mark.parametrize(
    ("audio_kind", "confidence", "reason"),
    [
        ("short", 0.9, "too_short"),
        ("quiet", 0.9, "too_quiet"),
        ("noisy", 0.9, "too_noisy"),
        ("good", 0.2, "low_confidence"),
        ("good", 0.9, ""),
    ],
)
def test_problem_names_the_first_reason(voice, audio_kind, confidence, reason):
    rng = np.random.default_rng(0)
    noise = C.coloured_noise(voice.size, rng, 0.0)
    audio = {
        "short": voice[: SR // 2],
        "quiet": voice * 1e-4,
        "noisy": C.mix_at_snr(voice, noise, -3.0),
        "good": voice,
    }[audio_kind]
    # The recording's floor comes from a second between turns (quiet room, or the same noise).
    gap = noise[:SR] * (np.std(audio - voice[: audio.size]) if audio_kind == "noisy" else 1e-4)
    floor = quality.noise_floor_db(np.concatenate([gap, audio]))
    q = quality.measure(audio, floor)
    assert quality.problem(q, confidence, 0.4) == reason


def test_judge_turn_marks_close_calls_and_poor_audio(voice):
    params = EmotionParams()
    good = quality.measure(voice)
    confident = np.array([0.7, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01])
    close = np.array([0.45, 0.42, 0.05, 0.02, 0.02, 0.02, 0.01, 0.01])
    assert judge_turn(confident, good, params, 0.4) == ("neutral", 0.7, False, "")
    assert judge_turn(close, good, params, 0.4)[2:] == (True, "low_confidence")
    short = quality.measure(voice[:4000])
    assert judge_turn(confident, short, params, 0.4)[2:] == (True, "too_short")


def test_model_floor_comes_from_the_manifest():
    assert quality.model_min_confidence({"reliability": {"min_confidence": 0.33}}) == 0.33
    assert quality.model_min_confidence({}) == quality.DEFAULT_MIN_CONFIDENCE


# --- the benchmark machinery on a tiny generated corpus ----------------------------------------


def test_benchmark_scores_every_condition_by_actor(tmp_path: Path):
    import soundfile as sf

    # Four "actors", two emotions told apart by pitch and loudness contour.
    audios, labels, groups = [], [], []
    for actor in range(4):
        for k in range(6):
            label = "happy" if k % 2 else "sad"
            f0 = (230.0 if label == "happy" else 120.0) + 10 * actor
            audio = speechlike(1.5, seed=actor * 10 + k, f0=f0)
            path = tmp_path / f"a{actor}-{k}.wav"
            sf.write(path, audio, SR)
            audios.append(path)
            labels.append(label)
            groups.append(f"actor{actor}")
    from analysis.engine.training.datasets import LabelledClip

    clips = [
        LabelledClip(label=lab, group=g, path=p)
        for p, lab, g in zip(audios, labels, groups, strict=True)
    ]
    chosen = [C.condition_by_name(n) for n in ("clean", "quieter_20db", "pink_noise_10db")]
    result = run_benchmark(
        clips,
        Recipe(copies=1, heads=["logistic"]),
        conditions=chosen,
        folds=2,
        cache_dir=tmp_path / "cache",
        workers=1,
        log=lambda _line: None,
    )
    rows = {r["condition"]: r for r in result["rows"]}
    assert set(rows) == {"clean", "quieter_20db", "pink_noise_10db"}
    assert rows["clean"]["n"] == len(clips)
    assert rows["clean"]["ua"] > 0.8  # pitch separates the two emotions
    assert rows["quieter_20db"]["ua"] == pytest.approx(rows["clean"]["ua"], abs=0.1)
    assert result["temperature"] > 0
    assert len(result["fold_temperatures"]) == 2


# --- session scoring ----------------------------------------------------------------------------


def test_segments_take_the_emotion_of_the_utterance_they_overlap_most():
    truth = [Utterance(0.0, 2.0, 0, "happy"), Utterance(2.5, 5.0, 1, "sad")]

    def seg(start, end, emotion, uncertain=False):
        probs = dict.fromkeys(CANONICAL_LABELS, 0.0)
        probs[emotion] = 1.0
        return {
            "start_s": start,
            "end_s": end,
            "emotion": emotion,
            "uncertain": uncertain,
            "probabilities": probs,
        }

    scored = score_segments(
        [seg(0.1, 1.9, "happy"), seg(1.8, 4.0, "angry", True), seg(6.0, 7.0, "sad")], truth
    )
    assert scored["y_true"] == [LABEL_INDEX["happy"], LABEL_INDEX["sad"]]
    assert scored["y_pred"] == [LABEL_INDEX["happy"], LABEL_INDEX["angry"]]
    assert scored["uncertain"] == [False, True]
    assert scored["false_speech_segments"] == 1
    assert scored["utterances_covered"] == 2


def test_augmenter_versions_differ_and_unknown_versions_are_refused(voice):
    talkers = [speechlike(2.0, seed=9)]
    first = C.multi_condition_augmenter(talkers)
    second = C.multi_condition_augmenter(talkers, version=2)
    outs1 = [first(voice, np.random.default_rng([0, 1, k])) for k in range(8)]
    outs2 = [second(voice, np.random.default_rng([0, 1, k])) for k in range(8)]
    assert any(not np.array_equal(a, b) for a, b in zip(outs1, outs2, strict=True))
    with pytest.raises(ValueError, match="Unknown augmentation version"):
        C.multi_condition_augmenter(talkers, version=3)


def test_verdict_names_met_and_missed_targets():
    from analysis.engine.training.robustness import verdict

    assert verdict(0.46, 0.45) == "met (>= 0.45)"
    assert verdict(0.44, 0.45) == "missed (>= 0.45)"
    assert verdict(0.44, None) == ""
