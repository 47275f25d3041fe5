"""Synthetic two-speaker conversations with known answers, to measure segmentation and roles.

We have no annotated therapy recordings, so conversations are assembled from RAVDESS clips
(``MM-VC-EE-II-SS-RR-AA.flac``: modality, vocal channel, emotion, intensity, statement,
repetition, actor): two actors take turns, separated by pauses of 0.3-1.5 s, with a share of
turns starting 0.3-0.8 s before the other actor has finished (overlap). Each clip's leading
and trailing silence is trimmed first (energy below -30 dB of its peak), and the trimmed span
is the reference "speech" region; short pauses inside a sentence therefore count as speech,
as they would for a human annotator marking turns.

RAVDESS has adults only. The higher-pitched actor of a pair (median F0 over its clips) stands
in for the child, the other for the therapist; with a male and a female actor this mimics the
pitch gap between a child and an adult, with two actors of the same sex it is a harder case
than most real sessions. The figures are therefore a sanity check of the machinery, not a
clinical validation. Roles are no longer guessed from pitch (a voice is named only from a
voice print), so this table reports speech and speaker accuracy only; roles, 3-4 speakers,
rooms and DER are measured by ``analysis.engine.benchmarks.diarization``.

    python -m analysis.engine.benchmarks.synthetic --data /work/shared/data/ravdess
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.engine.audio.decode import decode
from analysis.engine.speakers.diarization import SpeakerTurn, assign_speakers, median_f0
from analysis.engine.speech.segmentation import (
    SAMPLE_RATE,
    Segment,
    detect_speech,
    frame_f1,
    speech_mask,
)

RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.(flac|wav)$")
FRAME_S = 0.01


@dataclass(frozen=True)
class RavdessClip:
    path: Path
    actor: int
    emotion: str
    statement: int


@dataclass(frozen=True)
class TruthTurn:
    start_s: float
    end_s: float
    actor: int
    emotion: str


@dataclass
class Conversation:
    audio: np.ndarray
    turns: list[TruthTurn]
    actors: tuple[int, int]
    child_actor: int  # the higher-pitched actor, standing in for the child

    @property
    def duration_s(self) -> float:
        return self.audio.size / SAMPLE_RATE


def speechlike(
    seconds: float, sr: int = SAMPLE_RATE, f0: float = 140.0, seed: int = 0, pause_s: float = 0.6
) -> np.ndarray:
    """Voiced syllables (glottal pulses through vowel formants) grouped into phrases with pauses.

    Not intelligible, but it has what VAD, pitch trackers and speech models key on: a harmonic
    source with a wandering F0, formant resonances changing per syllable, a ~4 Hz syllable
    rhythm. Used where no recorded speech may be assumed (tests, the benchmark).
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float64)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240)]
    pos = int(0.2 * sr)
    while pos < n:
        end = min(pos + int(rng.uniform(1.2, 3.0) * sr), n)
        t = np.arange(end - pos) / sr
        contour = f0 * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t))
        phase = np.cumsum(contour / sr)
        source = np.where(np.diff(np.floor(phase), prepend=0) > 0, 1.0, 0.0)
        source += 0.02 * rng.standard_normal(source.size)
        syllable = sr // 4
        voiced = np.zeros_like(source)
        for s in range(0, source.size, syllable):
            y = source[s : s + syllable]
            size = y.size
            for fc, bw in zip(vowels[rng.integers(len(vowels))], (80, 100, 150), strict=True):
                r = np.exp(-np.pi * bw / sr)
                theta = 2 * np.pi * fc / sr
                y = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], y)
            voiced[s : s + size] = y * np.sin(np.pi * np.linspace(0, 1, size)) ** 0.5
        out[pos:end] = voiced
        pos = end + int(rng.uniform(0.5, 1.5) * pause_s * sr)
    peak = np.abs(out).max() or 1.0
    return (0.5 * out / peak).astype(np.float32)


def speechlike_conversation(seconds: float, seed: int = 0) -> np.ndarray:
    """Two synthetic voices (F0 ~120 Hz and ~280 Hz) taking 2-6 s turns with short pauses."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    total = 0
    target = int(seconds * SAMPLE_RATE)
    turn = 0
    while total < target:
        f0 = 120.0 if turn % 2 == 0 else 280.0
        speech = speechlike(rng.uniform(2.0, 6.0), f0=f0, seed=seed + turn, pause_s=0.3)
        pause = np.zeros(int(rng.uniform(0.3, 1.0) * SAMPLE_RATE), dtype=np.float32)
        parts += [speech, pause]
        total += speech.size + pause.size
        turn += 1
    audio = np.concatenate(parts)[:target]
    return audio + (1e-3 * rng.standard_normal(audio.size)).astype(np.float32)


def list_clips(data_dir: Path | str) -> list[RavdessClip]:
    """Speech clips (vocal channel 01) found anywhere under ``data_dir``."""
    clips = []
    for path in sorted(Path(data_dir).rglob("*")):
        match = _NAME.match(path.name)
        if not match or match.group(2) != "01":
            continue
        clips.append(
            RavdessClip(
                path=path,
                actor=int(match.group(7)),
                emotion=RAVDESS_EMOTIONS[match.group(3)],
                statement=int(match.group(5)),
            )
        )
    return clips


def trim_silence(audio: np.ndarray, top_db: float = 30.0) -> np.ndarray:
    """Drop leading/trailing audio quieter than ``top_db`` below the clip's loudest 25 ms."""
    frame = int(0.025 * SAMPLE_RATE)
    hop = int(0.010 * SAMPLE_RATE)
    if audio.size <= frame:
        return audio
    n = 1 + (audio.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    rms = np.sqrt(np.mean(audio[idx].astype(np.float64) ** 2, axis=1)) + 1e-12
    db = 20 * np.log10(rms / rms.max())
    loud = np.nonzero(db > -top_db)[0]
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] * hop : min(loud[-1] * hop + frame, audio.size)]


def build_conversation(
    clips: Sequence[RavdessClip],
    actors: tuple[int, int],
    *,
    turns: int = 24,
    seed: int = 0,
    overlap_prob: float = 0.15,
    noise_dbfs: float = -55.0,
) -> Conversation:
    """Alternate clips of two actors with random pauses and occasional overlaps."""
    rng = np.random.default_rng(seed)
    by_actor = {a: [c for c in clips if c.actor == a] for a in actors}
    for actor, own in by_actor.items():
        if not own:
            raise ValueError(f"No clips for actor {actor}.")
    placed: list[tuple[float, np.ndarray, RavdessClip]] = []
    cursor = 0.5
    for i in range(turns):
        actor = actors[i % 2]
        clip = by_actor[actor][rng.integers(len(by_actor[actor]))]
        speech = trim_silence(decode(clip.path))
        if i and rng.random() < overlap_prob:
            cursor -= rng.uniform(0.3, 0.8)
        elif i:
            cursor += rng.uniform(0.3, 1.5)
        placed.append((cursor, speech, clip))
        cursor += speech.size / SAMPLE_RATE
    total = int((cursor + 0.7) * SAMPLE_RATE)
    audio = np.zeros(total, dtype=np.float32)
    truth = []
    for start, speech, clip in placed:
        lo = round(start * SAMPLE_RATE)
        audio[lo : lo + speech.size] += speech
        truth.append(
            TruthTurn(lo / SAMPLE_RATE, (lo + speech.size) / SAMPLE_RATE, clip.actor, clip.emotion)
        )
    audio += (10 ** (noise_dbfs / 20)) * rng.standard_normal(total).astype(np.float32)
    np.clip(audio, -1.0, 1.0, out=audio)
    f0 = {}
    for actor in actors:
        ranges = [
            (int(t.start_s * SAMPLE_RATE), int(t.end_s * SAMPLE_RATE))
            for t in truth
            if t.actor == actor
        ]
        f0[actor] = median_f0(audio, ranges) or 0.0
    child = max(actors, key=lambda a: f0[a])
    return Conversation(audio=audio, turns=truth, actors=actors, child_actor=child)


def truth_frames(conv: Conversation) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms frame: speech mask, and the single active actor (0 where none or overlap)."""
    n = int(np.ceil(conv.duration_s / FRAME_S))
    count = np.zeros(n, dtype=int)
    actor = np.zeros(n, dtype=int)
    for turn in conv.turns:
        mask = speech_mask([Segment(turn.start_s, turn.end_s)], conv.duration_s, FRAME_S)
        count += mask[:n]
        actor[mask[:n]] = turn.actor
    actor[count != 1] = 0
    return count > 0, actor


def evaluate_segmentation(
    conv: Conversation, segments: Sequence[Segment], turns: Sequence[SpeakerTurn]
) -> dict[str, float]:
    """Speech/non-speech frame F1 plus speaker and role accuracy on single-speaker frames.

    Speaker accuracy maps predicted clusters to actors by the best one-to-one assignment
    (Hungarian, on frame counts); role accuracy needs no mapping: "child" must be the
    higher-pitched actor and "therapist" the other. Both are measured on frames where exactly
    one actor speaks and the prediction has a turn, so they isolate attribution from VAD misses.
    """
    from scipy.optimize import linear_sum_assignment

    speech_true, actor_true = truth_frames(conv)
    speech_pred = speech_mask(segments, conv.duration_s, FRAME_S)
    n = min(speech_true.size, speech_pred.size)
    cluster_pred = np.full(n, -1, dtype=int)
    role_pred = np.full(n, "", dtype=object)
    for turn in turns:
        mask = speech_mask([Segment(turn.start_s, turn.end_s)], conv.duration_s, FRAME_S)[:n]
        cluster_pred[mask] = turn.cluster
        role_pred[mask] = turn.role
    scored = (actor_true[:n] > 0) & (cluster_pred >= 0)
    tp = int((speech_pred[:n] & speech_true[:n]).sum())
    result = {
        "speech_f1": frame_f1(speech_pred[:n], speech_true[:n]),
        "speech_precision": tp / max(int(speech_pred[:n].sum()), 1),
        "speech_recall": tp / max(int(speech_true[:n].sum()), 1),
        "scored_frames": float(scored.sum()),
        "clusters": float(len({t.cluster for t in turns})),
    }
    if not scored.any():
        result.update(speaker_accuracy=0.0, role_accuracy=0.0)
        return result
    clusters = sorted(set(cluster_pred[scored].tolist()))
    actors = list(conv.actors)
    confusion = np.array(
        [
            [int(((cluster_pred == c) & (actor_true[:n] == a) & scored).sum()) for a in actors]
            for c in clusters
        ]
    )
    rows, cols = linear_sum_assignment(-confusion)
    result["speaker_accuracy"] = float(confusion[rows, cols].sum() / scored.sum())
    expected = np.where(actor_true[:n] == conv.child_actor, "child", "therapist")
    result["role_accuracy"] = float((role_pred[scored] == expected[scored]).mean())
    return result


def _pairs(
    clips: Sequence[RavdessClip], mixed: bool, count: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    actors = sorted({c.actor for c in clips})
    pairs = [
        (a, b)
        for i, a in enumerate(actors)
        for b in actors[i + 1 :]
        if ((a % 2) != (b % 2)) == mixed  # RAVDESS: odd-numbered actors male, even female
    ]
    order = rng.permutation(len(pairs))[:count]
    return [pairs[i] for i in order]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="RAVDESS root directory")
    parser.add_argument("--conversations", type=int, default=4, help="per pairing kind")
    parser.add_argument("--turns", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    clips = list_clips(args.data)
    if not clips:
        raise SystemExit(f"No RAVDESS speech clips under {args.data}.")
    rng = np.random.default_rng(args.seed)
    for label, mixed in (("mixed-sex pairs", True), ("same-sex pairs", False)):
        rows = []
        for i, pair in enumerate(_pairs(clips, mixed, args.conversations, rng)):
            conv = build_conversation(clips, pair, turns=args.turns, seed=args.seed + i)
            started = time.perf_counter()
            segments = detect_speech(conv.audio)
            speakers = assign_speakers(conv.audio, segments)
            metrics = evaluate_segmentation(conv, segments, speakers.turns)
            metrics["seconds"] = time.perf_counter() - started
            rows.append(metrics)
            print(
                f"{label} actors {pair[0]:02d}+{pair[1]:02d} ({conv.duration_s:.0f} s): "
                f"speech F1 {metrics['speech_f1']:.3f} (P {metrics['speech_precision']:.3f} "
                f"R {metrics['speech_recall']:.3f}), speaker acc "
                f"{metrics['speaker_accuracy']:.3f}, "
                f"{metrics['clusters']:.0f} clusters, {metrics['seconds']:.1f} s"
            )
        if rows:
            means = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            print(
                f"== {label}, mean of {len(rows)}: speech F1 {means['speech_f1']:.3f}, "
                f"speaker accuracy {means['speaker_accuracy']:.3f}"
            )


if __name__ == "__main__":
    main()
