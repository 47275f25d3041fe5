"""Session-level emotion accuracy: synthetic conversations in simulated rooms, end to end.

Clip benchmarks say little about what a therapist sees: the timeline comes from VAD segments,
speaker turns and 3 s windows of a whole recording. This benchmark builds two- and
three-speaker conversations from development actors (trimmed RAVDESS utterances, pauses of
0.3-1.5 s, 10% overlapping starts), renders them in one simulated room per conversation (an
image-source impulse response from each talker's position to one microphone,
``analysis.engine.audio.conditions.room_impulse_responses``) with noise at a set SNR, writes each
to a WAV
file and runs it through ``analysis.engine.pipeline.analyze_file``, exactly as the worker does.

Scoring: every predicted segment takes the emotion of the utterance it overlaps most (segments
over no utterance are counted as false speech, not scored); UA is the mean per-class recall
over scored segments. Utterance-level UA (each utterance's segments' probabilities averaged by
overlap) and the share of segments marked uncertain are reported too.

The model is never tested on voices it was trained on: for each of the 5 actor folds a model
of the same recipe is fitted on the other folds' actors (features from the robustness
benchmark's cache) and scored on conversations among the fold's own actors. Seeds are fixed.

    python -m analysis.engine.benchmarks.sessions --data ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.conditions import (
    coloured_noise,
    mix_at_snr,
    reverberate,
    room_impulse_responses,
)
from analysis.engine.benchmarks.synthetic import trim_silence
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from analysis.engine.training.datasets import LabelledClip, group_kfold, label_indices, scan_ravdess
from analysis.engine.training.evaluation import classification_metrics

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Room:
    name: str
    description: str
    rt60_s: float
    snr_db: float


ROOMS: tuple[Room, ...] = (
    Room("quiet_room", "quiet room (RT60 0.3 s, noise 30 dB below speech)", 0.3, 30.0),
    Room("room_20db", "therapy room (RT60 0.5 s, noise at 20 dB)", 0.5, 20.0),
    Room("room_10db", "reverberant room (RT60 0.6 s, noise at 10 dB)", 0.6, 10.0),
    Room("room_5db", "noisy reverberant room (RT60 0.6 s, noise at 5 dB)", 0.6, 5.0),
)
TARGETS = {"quiet_room": 0.45, "room_10db": 0.40}


@dataclass(frozen=True)
class Utterance:
    start_s: float
    end_s: float
    speaker: int
    emotion: str


def render_conversation(
    clips_by_speaker: Sequence[Sequence[LabelledClip]],
    room: Room,
    *,
    turns: int,
    seed: int,
    overlap_prob: float = 0.1,
) -> tuple[np.ndarray, list[Utterance]]:
    """A conversation among the given speakers in ``room``: (16 kHz audio, utterances)."""
    rng = np.random.default_rng(seed)
    n = len(clips_by_speaker)
    tracks: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n)]
    truth: list[Utterance] = []
    cursor = 0.6
    speaker = 0
    for i in range(turns):
        if i:
            speaker = int((speaker + rng.integers(1, n)) % n) if n > 1 else 0
        own = clips_by_speaker[speaker]
        clip = own[int(rng.integers(len(own)))]
        speech = trim_silence(clip.load())
        if i and rng.random() < overlap_prob:
            cursor -= rng.uniform(0.3, 0.8)
        elif i:
            cursor += rng.uniform(0.3, 1.5)
        lo = round(cursor * SAMPLE_RATE)
        tracks[speaker].append((lo, speech))
        truth.append(
            Utterance(lo / SAMPLE_RATE, (lo + speech.size) / SAMPLE_RATE, speaker, clip.label)
        )
        cursor += speech.size / SAMPLE_RATE
    total = int((cursor + 0.8) * SAMPLE_RATE)
    rirs = room_impulse_responses(room.rt60_s, rng, n)
    mix = np.zeros(total, dtype=np.float64)
    for k in range(n):
        dry = np.zeros(total, dtype=np.float32)
        for lo, speech in tracks[k]:
            dry[lo : lo + speech.size] += speech
        if np.any(dry):
            mix += reverberate(dry, rirs[k])
    noise = 0.6 * coloured_noise(total, rng, 1.0) + 0.4 * coloured_noise(total, rng, 0.0)
    audio = mix_at_snr(mix.astype(np.float32), noise, room.snr_db)
    peak = float(np.abs(audio).max()) + 1e-9
    return (audio * min(1.0, 0.7 / peak)).astype(np.float32), truth


def score_segments(
    segments: Sequence[dict[str, Any]], truth: Sequence[Utterance]
) -> dict[str, Any]:
    """Per-segment and per-utterance agreement with the utterances' emotions."""
    y_true, y_pred, uncertain = [], [], []
    utterance_probs = np.zeros((len(truth), len(CANONICAL_LABELS)))
    false_speech = 0
    for seg in segments:
        overlaps = [
            max(0.0, min(seg["end_s"], u.end_s) - max(seg["start_s"], u.start_s)) for u in truth
        ]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best < 0 or overlaps[best] <= 0.0:
            false_speech += 1
            continue
        y_true.append(LABEL_INDEX[truth[best].emotion])
        y_pred.append(LABEL_INDEX[seg["emotion"]])
        uncertain.append(bool(seg["uncertain"]))
        probs = np.array([seg["probabilities"][label] for label in CANONICAL_LABELS])
        for j, overlap in enumerate(overlaps):
            if overlap > 0:
                utterance_probs[j] += overlap * probs
    covered = utterance_probs.sum(axis=1) > 0
    utt_true = label_indices_of(truth)[covered]
    utt_pred = utterance_probs[covered].argmax(axis=1)
    return {
        "y_true": y_true,
        "y_pred": y_pred,
        "uncertain": uncertain,
        "utterance_true": utt_true.tolist(),
        "utterance_pred": utt_pred.tolist(),
        "false_speech_segments": false_speech,
        "utterances": len(truth),
        "utterances_covered": int(covered.sum()),
    }


def label_indices_of(truth: Sequence[Utterance]) -> np.ndarray:
    return np.array([LABEL_INDEX[u.emotion] for u in truth], dtype=np.int64)


def _fold_model(
    clips: Sequence[LabelledClip],
    train_idx: np.ndarray,
    feats: dict[str, np.ndarray],
    out_dir: Path,
    *,
    seed: int,
    temperature: float,
    min_confidence: float,
) -> Path:
    from analysis.engine.classifiers.features_head import write_model
    from analysis.engine.training.train import DEFAULT_RECIPE

    y = label_indices(clips)
    groups = np.array([c.group for c in clips])
    variants = sorted(feats)
    ensemble = DEFAULT_RECIPE.fit(
        np.concatenate([feats[v][train_idx] for v in variants]),
        np.concatenate([y[train_idx]] * len(variants)),
        np.concatenate([groups[train_idx]] * len(variants)),
        seed,
    )
    ensemble.temperature = temperature
    write_model(
        out_dir,
        ensemble,
        features="acoustic2",
        name="ser-session-fold",
        version="1",
        architecture="fold model for the session benchmark",
        extra={"reliability": {"min_confidence": min_confidence}},
    )
    return out_dir


def run_session_benchmark(
    clips: Sequence[LabelledClip],
    *,
    rooms: Sequence[Room] = ROOMS,
    folds: int = 5,
    copies: int = 2,
    seed: int = 0,
    turns: int = 20,
    temperature: float = 1.0,
    min_confidence: float = 0.4,
    cache_dir: Path | None = None,
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Per-room figures over conversations of held-out actors (see the module docstring)."""
    import soundfile as sf

    from analysis.engine.classifiers.base import load_classifier
    from analysis.engine.pipeline import analyze_file
    from analysis.engine.training.robustness import DEFAULT_CACHE, aug_variants, extract_all
    from analysis.engine.training.train import ROBUST_AUGMENT_VERSION

    variants = ["clean", *aug_variants(copies, ROBUST_AUGMENT_VERSION)]
    feats = extract_all(
        clips,
        variants,
        feature_set="acoustic2",
        cache_dir=cache_dir or DEFAULT_CACHE,
        seed=seed,
        workers=workers,
        log=log,
    )
    per_room: dict[str, dict[str, list[Any]]] = {
        r.name: {k: [] for k in ("y_true", "y_pred", "uncertain", "ut", "up")} for r in rooms
    }
    extras: dict[str, dict[str, int]] = {
        r.name: {"false_speech_segments": 0, "utterances": 0, "covered": 0, "seconds": 0}
        for r in rooms
    }
    with tempfile.TemporaryDirectory(prefix="ser-session-bench-") as tmp:
        for fold, (train_idx, test_idx) in enumerate(group_kfold(clips, folds, seed)):
            started = time.monotonic()
            model_dir = _fold_model(
                clips,
                train_idx,
                feats,
                Path(tmp) / f"fold{fold}",
                seed=seed + fold,
                temperature=temperature,
                min_confidence=min_confidence,
            )
            classifier = load_classifier(model_dir)
            test_groups = sorted({clips[i].group for i in test_idx})
            by_group = {g: [clips[i] for i in test_idx if clips[i].group == g] for g in test_groups}
            casts = [test_groups[0:2], test_groups[2:4], test_groups[0:3]]
            casts = [c for c in casts if len(c) >= 2]
            for r_i, room in enumerate(rooms):
                for c_i, cast in enumerate(casts):
                    audio, truth = render_conversation(
                        [by_group[g] for g in cast],
                        room,
                        turns=turns,
                        seed=seed * 1000 + fold * 100 + c_i,
                    )
                    path = Path(tmp) / f"conv-{fold}-{r_i}-{c_i}.wav"
                    sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
                    result = analyze_file(path, classifier).to_dict()
                    scored = score_segments(result["segments"], truth)
                    bucket = per_room[room.name]
                    bucket["y_true"] += scored["y_true"]
                    bucket["y_pred"] += scored["y_pred"]
                    bucket["uncertain"] += scored["uncertain"]
                    bucket["ut"] += scored["utterance_true"]
                    bucket["up"] += scored["utterance_pred"]
                    extra = extras[room.name]
                    extra["false_speech_segments"] += scored["false_speech_segments"]
                    extra["utterances"] += scored["utterances"]
                    extra["covered"] += scored["utterances_covered"]
                    extra["seconds"] += int(audio.size / SAMPLE_RATE)
                    path.unlink()
            log(f"  fold {fold + 1}/{folds}: {time.monotonic() - started:.0f} s")
    rows = []
    for room in rooms:
        b = per_room[room.name]
        seg = classification_metrics(np.array(b["y_true"]), np.array(b["y_pred"]), CANONICAL_LABELS)
        utt = classification_metrics(np.array(b["ut"]), np.array(b["up"]), CANONICAL_LABELS)
        unc = np.array(b["uncertain"], dtype=bool)
        certain = (
            classification_metrics(
                np.array(b["y_true"])[~unc], np.array(b["y_pred"])[~unc], CANONICAL_LABELS
            )
            if (~unc).any()
            else {"ua": 0.0, "n": 0}
        )
        rows.append(
            {
                "room": room.name,
                "description": room.description,
                "segments": seg["n"],
                "segment_ua": seg["ua"],
                "segment_wa": seg["wa"],
                "utterance_ua": utt["ua"],
                "uncertain_share": float(unc.mean()) if unc.size else 0.0,
                "certain_segment_ua": certain["ua"],
                "target": TARGETS.get(room.name),
                **extras[room.name],
            }
        )
    return {"folds": folds, "seed": seed, "turns": turns, "rows": rows}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| room | audio | segments | segment UA | utterance UA | uncertain | UA of certain "
        "| utterances found | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    from analysis.engine.training.robustness import verdict

    for r in result["rows"]:
        lines.append(
            f"| {r['description']} | {r['seconds'] / 60:.1f} min | {r['segments']} "
            f"| {r['segment_ua']:.3f} | {r['utterance_ua']:.3f} | {r['uncertain_share']:.2f} "
            f"| {r['certain_segment_ua']:.3f} | {r['covered']}/{r['utterances']} "
            f"| {verdict(r['segment_ua'], r['target'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(__file__).resolve().parent / "shipped" / "ser-default-v2",
        help="take the calibration temperature and confidence floor from this model",
    )
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    temperature, floor = 1.0, 0.4
    manifest = args.model / "ser_model.json"
    if manifest.is_file():
        reliability = json.loads(manifest.read_text()).get("extra", {}).get("reliability", {})
        temperature = float(reliability.get("temperature", 1.0))
        floor = float(reliability.get("min_confidence", 0.4))
    started = time.monotonic()
    result = run_session_benchmark(
        scan_ravdess(args.data),
        seed=args.seed,
        turns=args.turns,
        copies=args.copies,
        temperature=temperature,
        min_confidence=floor,
        cache_dir=args.cache_dir,
        workers=args.workers,
    )
    result["seconds"] = time.monotonic() - started
    print(table(result))
    print(f"{result['seconds']:.0f} s; temperature {temperature:.3f}, confidence floor {floor:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
