"""Who spoke when, measured: speech detection, speaker separation and roles in simulated rooms.

Conversations of 2, 3 and 4 development actors (RAVDESS, trimmed utterances) are rendered in
one simulated room each (image-source impulse response from each talker's position to one
microphone, ``analysis.engine.audio.conditions.room_impulse_responses``) with pink/white noise
at a set SNR:

- casting: speaker 0 is the therapist (an adult actor); speaker 1 is a child, made from an
  actor by pitch and formant shifting (Praat's PSOLA "Change gender": median F0 260-320 Hz,
  formants x1.2-1.3); a 3-speaker group adds a second child, a 4-speaker group a second child
  and a second therapist. "same sex" conversations take all actors from one sex (the child is
  then told apart by the shift only), "mixed" alternates sexes;
- turn taking: the next speaker is any other (the therapist half the time in groups), each turn
  one or two utterances; 30 % of turns follow with no audible pause (0.05-0.25 s, so one VAD
  segment can hold a speaker change), 10 % start 0.3-0.8 s before the other has finished
  (overlap), the rest after 0.3-1.2 s; children are 0-6 dB quieter;
- voice prints come from other clips of the same actor (statement 2, repetition 2, never used
  in the conversations), dry and close to the microphone, through ``enroll_embedding`` as
  enrollment and home practice do; a child's print from the shifted clips.

Each conversation is analysed three ways: blind (no prints, no speaker count: DER, JER, count
exactness, "no lane called child"); with the therapist's print and the session's speaker count
(2-speaker conversations: the child by elimination); and with every print and the count (role
accuracy, DER as deployed). Figures per room; targets from issue 11.

Why not ``conditions.child_like`` (librosa's phase-vocoder pitch shift): silero scores its
output as non-speech. On actor 2's clips, +5 semitones, the share of frames above 0.5 fell
from 0.35-0.41 to 0.01-0.35 (0.02 for "fearful"), while a plain resampling shift and PSOLA kept
it (0.35-0.42): the benchmark would measure the vocoder's artefacts, not children's voices.

Speech F1: 10 ms frames, reference = union of the utterances' trimmed spans. DER/JER:
``pyannote.metrics`` with a 0.25 s collar, overlap scored. Role accuracy: on single-speaker
reference frames with a predicted turn, the share whose predicted lane identity is right
(therapist/child with the right print key; "unknown" for a voice without a print; "child" by
elimination counts as right for the child). Child recall: share of the children's speech time
named as that child.

    python -m analysis.engine.benchmarks.diarization --data /work/shared/data/ravdess
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.conditions import (
    coloured_noise,
    mix_at_snr,
    reverberate,
    room_impulse_responses,
)
from analysis.engine.audio.decode import decode
from analysis.engine.benchmarks.synthetic import RavdessClip, list_clips, trim_silence
from analysis.engine.speakers.diarization import (
    KnownVoice,
    SpeakerResult,
    assign_speakers,
    enroll_embedding,
    speaker_evidence,
)
from analysis.engine.speech.segmentation import (
    SAMPLE_RATE,
    Segment,
    detect_speech,
    frame_f1,
    speech_mask,
)

FRAME_S = 0.01
COLLAR_S = 0.25
CACHE_VERSION = 2


@dataclass(frozen=True)
class Room:
    name: str
    description: str
    rt60_s: float
    snr_db: float


ROOMS: tuple[Room, ...] = (
    Room("quiet", "quiet room (RT60 0.3 s, noise 30 dB below speech)", 0.3, 30.0),
    Room("noisy", "reverberant room (RT60 0.5 s, noise 15 dB below speech)", 0.5, 15.0),
)
# Issue 11's targets.
TARGETS: dict[str, dict[str, float]] = {
    "quiet": {"speech_f1": 0.90, "der": 0.15},
    "noisy": {"speech_f1": 0.85, "der": 0.25},
}
COUNT_TARGET = 0.90
ROLE_TARGET_ALL_PRINTS = 0.95
ROLE_TARGET_THERAPIST_PRINT = 0.85


@dataclass(frozen=True)
class Speaker:
    actor: int
    role: str  # "therapist" or "child"
    key: str
    child_f0_hz: float  # PSOLA target median F0 (0 for adults: unchanged)
    formant_ratio: float
    gain_db: float


@dataclass(frozen=True)
class Utterance:
    start_s: float
    end_s: float
    speaker: int


@dataclass
class Conversation:
    audio: np.ndarray
    utterances: list[Utterance]
    speakers: list[Speaker]
    prints: list[np.ndarray] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.audio.size / SAMPLE_RATE

    def voices(self, *, therapist_only: bool = False) -> list[KnownVoice]:
        return [
            KnownVoice(s.key, s.role, s.key, p)
            for s, p in zip(self.speakers, self.prints, strict=True)
            if s.role == "therapist" or not therapist_only
        ][: 1 if therapist_only else None]


def _is_print_clip(clip: RavdessClip) -> bool:
    # Statement 2, repetition 2: the enrollment / home-practice clips, never in a conversation.
    return clip.statement == 2 and clip.path.name.split("-")[5] == "02"


def child_voice(audio: np.ndarray, f0_hz: float, formant_ratio: float) -> np.ndarray:
    """An adult's utterance as a child might say it: Praat's "Change gender" (PSOLA) to median
    F0 ``f0_hz`` with formants scaled by ``formant_ratio`` (a shorter vocal tract); same
    length, intonation kept."""
    import parselmouth
    from parselmouth.praat import call

    if audio.size < 2048:
        return audio
    sound = parselmouth.Sound(audio.astype(np.float64), SAMPLE_RATE)
    out = call(sound, "Change gender", 75, 600, formant_ratio, f0_hz, 1.0, 1.0)
    y = np.asarray(out.values[0], dtype=np.float32)[: audio.size]
    return np.pad(y, (0, audio.size - y.size))


def _speech_of(clip: RavdessClip, speaker: Speaker) -> np.ndarray:
    speech = trim_silence(decode(clip.path))
    if speaker.child_f0_hz:
        speech = child_voice(speech, speaker.child_f0_hz, speaker.formant_ratio)
    return speech


def cast(
    clips: Sequence[RavdessClip], n: int, mixed: bool, rng: np.random.Generator
) -> list[Speaker]:
    """Speakers of one conversation (see the module docstring)."""
    actors = sorted({c.actor for c in clips})
    roles = ["therapist", "child", "child", "therapist"][:n]
    if mixed:
        first = int(rng.integers(2))
        sexes = [(first + i) % 2 for i in range(n)]
    else:
        sexes = [int(rng.integers(2))] * n
    chosen: list[int] = []
    for sex in sexes:
        pool = [a for a in actors if a % 2 == (1 if sex == 0 else 0) and a not in chosen]
        chosen.append(int(rng.choice(pool)))
    speakers = []
    for i, (actor, role) in enumerate(zip(chosen, roles, strict=True)):
        f0 = ratio = gain = 0.0
        if role == "child":
            f0 = round(float(rng.uniform(260.0, 320.0)))
            ratio = round(float(rng.uniform(1.2, 1.3)), 3)
            gain = round(-float(rng.uniform(0.0, 6.0)), 2)
        speakers.append(Speaker(actor, role, f"{role}:{i}", f0, ratio, gain))
    return speakers


def render(
    clips: Sequence[RavdessClip],
    speakers: Sequence[Speaker],
    room: Room,
    *,
    turns: int,
    seed: int,
) -> Conversation:
    """A conversation among ``speakers`` in ``room``, with each speaker's print."""
    rng = np.random.default_rng(seed)
    n = len(speakers)
    own = [[c for c in clips if c.actor == s.actor and not _is_print_clip(c)] for s in speakers]
    tracks: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n)]
    utterances: list[Utterance] = []
    cursor = 0.6
    speaker = 0
    for i in range(turns):
        if i and n > 1:
            if n > 2 and speaker != 0 and rng.random() < 0.5:
                speaker = 0
            else:
                speaker = int((speaker + rng.integers(1, n)) % n)
            roll = rng.random()
            if roll < 0.1:
                cursor -= rng.uniform(0.3, 0.8)
            elif roll < 0.4:
                cursor += rng.uniform(0.05, 0.25)
            else:
                cursor += rng.uniform(0.3, 1.2)
        for j in range(1 + int(rng.random() < 0.4)):
            clip = own[speaker][int(rng.integers(len(own[speaker])))]
            speech = _speech_of(clip, speakers[speaker])
            speech = speech * np.float32(10 ** (speakers[speaker].gain_db / 20))
            if j:
                cursor += rng.uniform(0.15, 0.4)  # a breath between two sentences
            lo = round(max(cursor, 0.0) * SAMPLE_RATE)
            tracks[speaker].append((lo, speech))
            utterances.append(
                Utterance(lo / SAMPLE_RATE, (lo + speech.size) / SAMPLE_RATE, speaker)
            )
            cursor = (lo + speech.size) / SAMPLE_RATE
    total = int((cursor + 0.8) * SAMPLE_RATE)
    rirs = room_impulse_responses(room.rt60_s, rng, n)
    mix = np.zeros(total, dtype=np.float64)
    for k in range(n):
        dry = np.zeros(total, dtype=np.float32)
        for lo, speech in tracks[k]:
            dry[lo : lo + speech.size] += speech
        if np.any(dry):
            wet = reverberate(dry, rirs[k])
            mix += wet * 10 ** (speakers[k].gain_db / 20)  # reverberate restores the dry level
    noise = 0.6 * coloured_noise(total, rng, 1.0) + 0.4 * coloured_noise(total, rng, 0.0)
    audio = mix_at_snr(mix.astype(np.float32), noise, room.snr_db)
    peak = float(np.abs(audio).max()) + 1e-9
    audio = (audio * min(1.0, 0.7 / peak)).astype(np.float32)
    prints = []
    for s in speakers:
        sample = [_speech_of(c, s) for c in clips if c.actor == s.actor and _is_print_clip(c)]
        gap = np.zeros(int(0.4 * SAMPLE_RATE), dtype=np.float32)
        enrollment = np.concatenate([x for clip in sample for x in (clip, gap)])
        enrollment += (1e-3 * rng.standard_normal(enrollment.size)).astype(np.float32)
        prints.append(enroll_embedding(enrollment))
    return Conversation(audio, utterances, list(speakers), prints)


def _cache_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / f"conversation-{digest}.npz"


def load_or_render(
    clips: Sequence[RavdessClip],
    speakers: Sequence[Speaker],
    room: Room,
    *,
    turns: int,
    seed: int,
    cache_dir: Path | None,
) -> Conversation:
    """``render``, cached on disk (child-like shifting and rooms are the slow part)."""
    key = {
        "v": CACHE_VERSION,
        "speakers": [s.__dict__ for s in speakers],
        "room": room.__dict__,
        "turns": turns,
        "seed": seed,
    }
    path = _cache_path(cache_dir, key) if cache_dir else None
    if path is not None and path.exists():
        data = np.load(path)
        utterances = [Utterance(float(a), float(b), int(k)) for a, b, k in data["utterances"]]
        return Conversation(data["audio"], utterances, list(speakers), list(data["prints"]))
    conv = render(clips, speakers, room, turns=turns, seed=seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            audio=conv.audio,
            utterances=np.array([(u.start_s, u.end_s, u.speaker) for u in conv.utterances]),
            prints=np.stack(conv.prints),
        )
        os.replace(tmp, path)
    return conv


def _frames(conv: Conversation) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms frame: speech mask, and the single active speaker (-1 where none/overlap)."""
    n = int(np.ceil(conv.duration_s / FRAME_S))
    count = np.zeros(n, dtype=int)
    who = np.full(n, -1, dtype=int)
    for u in conv.utterances:
        mask = speech_mask([Segment(u.start_s, u.end_s)], conv.duration_s, FRAME_S)[:n]
        count += mask
        who[mask] = u.speaker
    who[count != 1] = -1
    return count > 0, who


def speech_scores(conv: Conversation, segments: Sequence[Segment]) -> dict[str, float]:
    speech, _ = _frames(conv)
    pred = speech_mask(segments, conv.duration_s, FRAME_S)[: speech.size]
    tp = int((pred & speech[: pred.size]).sum())
    return {
        "speech_f1": frame_f1(pred, speech),
        "speech_precision": tp / max(int(pred.sum()), 1),
        "speech_recall": tp / max(int(speech.sum()), 1),
    }


def _uem(conv: Conversation) -> Any:
    from pyannote.core import Segment as Span
    from pyannote.core import Timeline

    return Timeline([Span(0.0, conv.duration_s)])


def _annotations(conv: Conversation, result: SpeakerResult) -> tuple[Any, Any]:
    from pyannote.core import Annotation
    from pyannote.core import Segment as Span

    reference = Annotation()
    for i, u in enumerate(conv.utterances):
        reference[Span(u.start_s, u.end_s), i] = f"spk{u.speaker}"
    hypothesis = Annotation()
    for i, t in enumerate(result.turns):
        hypothesis[Span(t.start_s, t.end_s), i] = f"c{t.cluster}"
    return reference, hypothesis


def _expected_role_accuracy(
    conv: Conversation, result: SpeakerResult, voices: Sequence[KnownVoice]
) -> float:
    """Role accuracy where the truth for a speaker without a print is "unknown", except the
    child of a two-person session, who may be named by elimination."""
    _, who = _frames(conv)
    n = who.size
    info = {c.cluster: c for c in result.clusters}
    printed = {v.key for v in voices}
    ok_frames = 0
    total = 0
    for t in result.turns:
        mask = speech_mask([Segment(t.start_s, t.end_s)], conv.duration_s, FRAME_S)[:n]
        c = info[t.cluster]
        for k, s in enumerate(conv.speakers):
            frames = int((mask & (who == k)).sum())
            if not frames:
                continue
            total += frames
            if s.key in printed:
                good = c.role == s.role and c.voice_key == s.key
            elif c.role_source == "elimination":
                good = c.role == s.role
            else:
                good = c.role == "unknown"
            ok_frames += frames if good else 0
    return ok_frames / total if total else 0.0


def _child_recall(conv: Conversation, result: SpeakerResult, voices: Sequence[KnownVoice]) -> float:
    _, who = _frames(conv)
    n = who.size
    info = {c.cluster: c for c in result.clusters}
    printed = {v.key for v in voices}
    named = total = 0
    for k, s in enumerate(conv.speakers):
        if s.role != "child":
            continue
        mine = who == k
        total += int(mine.sum())
        for t in result.turns:
            c = info[t.cluster]
            right_key = c.voice_key == s.key if s.key in printed else c.voice_key is None
            if c.role == "child" and right_key:
                mask = speech_mask([Segment(t.start_s, t.end_s)], conv.duration_s, FRAME_S)[:n]
                named += int((mask & mine).sum())
    return named / total if total else 0.0


@dataclass
class _Tally:
    rows: list[dict[str, float]] = field(default_factory=list)
    der: Any = None
    jer: Any = None
    der_prints: Any = None

    def __post_init__(self) -> None:
        from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

        self.der = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)
        self.jer = JaccardErrorRate(collar=COLLAR_S, skip_overlap=False)
        self.der_prints = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)


def evaluate(conv: Conversation, tally: _Tally) -> dict[str, float]:
    """Run detection and speaker assignment three ways on one conversation; add to ``tally``."""
    started = time.perf_counter()
    segments = detect_speech(conv.audio)
    vad_s = time.perf_counter() - started
    row: dict[str, float] = {"n": float(len(conv.speakers)), **speech_scores(conv, segments)}
    started = time.perf_counter()
    evidence = speaker_evidence(conv.audio, segments)
    blind = assign_speakers(conv.audio, segments, evidence=evidence)
    row["speakers_s"] = time.perf_counter() - started
    row["vad_s"] = vad_s
    reference, hypothesis = _annotations(conv, blind)
    uem = _uem(conv)
    row["der"] = float(tally.der(reference, hypothesis, uem=uem))
    row["jer"] = float(tally.jer(reference, hypothesis, uem=uem))
    row["count_exact"] = float(len(blind.clusters) == len(conv.speakers))
    row["clusters"] = float(len(blind.clusters))
    row["child_without_print"] = float(sum(c.role == "child" for c in blind.clusters))
    n = len(conv.speakers)
    voices = conv.voices()
    everyone = assign_speakers(
        conv.audio, segments, evidence=evidence, voices=voices, expected_speakers=n
    )
    reference, hypothesis = _annotations(conv, everyone)
    row["der_prints"] = float(tally.der_prints(reference, hypothesis, uem=uem))
    row["count_exact_prior"] = float(len(everyone.clusters) == n)
    row["role_all_prints"] = _expected_role_accuracy(conv, everyone, voices)
    row["child_recall_all_prints"] = _child_recall(conv, everyone, voices)
    therapist = conv.voices(therapist_only=True)
    only = assign_speakers(
        conv.audio, segments, evidence=evidence, voices=therapist, expected_speakers=n
    )
    row["role_therapist_print"] = _expected_role_accuracy(conv, only, therapist)
    row["child_recall_therapist_print"] = _child_recall(conv, only, therapist)
    # Without a print, and with the session's count of people unknown, nobody is a child.
    row["child_without_print"] += float(
        sum(
            c.role == "child" and c.role_source != "elimination"
            for c in only.clusters
            if c.voice_key is None
        )
    )
    tally.rows.append(row)
    return row


def _mean(rows: Sequence[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def _verdict(ok: bool) -> str:
    return "meets target" if ok else "BELOW TARGET"


def run(
    data: Path,
    *,
    per_cell: int,
    sizes: Sequence[int],
    rooms: Sequence[Room],
    seed: int,
    cache_dir: Path | None,
    log: Any = print,
) -> dict[str, Any]:
    clips = list_clips(data)
    if not clips:
        raise SystemExit(f"No RAVDESS speech clips under {data}.")
    summary: dict[str, Any] = {}
    for room in rooms:
        tally = _Tally()
        for n in sizes:
            for mixed in (True, False):
                for i in range(per_cell):
                    conv_seed = seed * 1000 + n * 100 + int(mixed) * 10 + i
                    rng = np.random.default_rng(conv_seed)
                    speakers = cast(clips, n, mixed, rng)
                    turns = {2: 16, 3: 20, 4: 24}.get(n, 6 * n)
                    conv = load_or_render(
                        clips, speakers, room, turns=turns, seed=conv_seed, cache_dir=cache_dir
                    )
                    row = evaluate(conv, tally)
                    who = "+".join(f"{s.role[0]}{s.actor:02d}" for s in speakers)
                    log(
                        f"{room.name} {n} spk {'mixed' if mixed else 'same '} {who} "
                        f"({conv.duration_s:.0f} s): F1 {row['speech_f1']:.3f} "
                        f"(P {row['speech_precision']:.2f} R {row['speech_recall']:.2f}) "
                        f"DER {row['der']:.3f} JER {row['jer']:.3f} k={row['clusters']:.0f} "
                        f"DER(prints) {row['der_prints']:.3f} roles {row['role_all_prints']:.2f}"
                        f"/{row['role_therapist_print']:.2f} "
                        f"[{row['vad_s']:.1f}+{row['speakers_s']:.1f} s]"
                    )
        rows = tally.rows
        two = [r for r in rows if r["n"] == 2]
        figures: dict[str, Any] = {
            "conversations": len(rows),
            "speech_f1": _mean(rows, "speech_f1"),
            "speech_precision": _mean(rows, "speech_precision"),
            "speech_recall": _mean(rows, "speech_recall"),
            "der": float(abs(tally.der)),
            "jer": float(abs(tally.jer)),
            "der_prints": float(abs(tally.der_prints)),
            "count_exact": _mean(rows, "count_exact"),
            "count_exact_prior": _mean(rows, "count_exact_prior"),
            "role_all_prints": _mean(rows, "role_all_prints"),
            "child_recall_all_prints": _mean(rows, "child_recall_all_prints"),
            "role_therapist_print_2spk": _mean(two, "role_therapist_print"),
            "child_recall_therapist_print_2spk": _mean(two, "child_recall_therapist_print"),
            "child_without_print": float(sum(r["child_without_print"] for r in rows)),
            "speaker_stage_s": float(sum(r["speakers_s"] for r in rows)),
            "vad_s": float(sum(r["vad_s"] for r in rows)),
            "by_size": {
                n: {
                    "der": _mean([r for r in rows if r["n"] == n], "der"),
                    "count_exact": _mean([r for r in rows if r["n"] == n], "count_exact"),
                }
                for n in sizes
            },
        }
        summary[room.name] = figures
        target = TARGETS.get(room.name, {})
        log(f"== {room.description}, {len(rows)} conversations")
        log(
            f"   speech F1 {figures['speech_f1']:.3f} (P {figures['speech_precision']:.3f} "
            f"R {figures['speech_recall']:.3f})"
            + (
                f"  target >= {target['speech_f1']:.2f}: "
                f"{_verdict(figures['speech_f1'] >= target['speech_f1'])}"
                if target
                else ""
            )
        )
        log(
            f"   DER {100 * figures['der']:.1f} % JER {100 * figures['jer']:.1f} % (blind); "
            f"DER with prints and count {100 * figures['der_prints']:.1f} %"
            + (
                f"  target <= {100 * target['der']:.0f} %: "
                f"{_verdict(figures['der'] <= target['der'])}"
                if target
                else ""
            )
        )
        for label, metric in (("blind", tally.der), ("with prints", tally.der_prints)):
            acc = metric.accumulated_
            total = max(float(acc["total"]), 1e-9)
            log(
                f"   DER parts {label}: missed {100 * acc['missed detection'] / total:.1f} %, "
                f"false alarm {100 * acc['false alarm'] / total:.1f} %, "
                f"confusion {100 * acc['confusion'] / total:.1f} %"
            )
        by_size = ", ".join(
            f"{n} spk DER {100 * v['der']:.1f} % count {v['count_exact']:.2f}"
            for n, v in figures["by_size"].items()
        )
        log(f"   per size (blind): {by_size}")
        log(
            f"   speaker count exact {figures['count_exact']:.2f} blind, "
            f"{figures['count_exact_prior']:.2f} with the session's count  target >= "
            f"{COUNT_TARGET:.2f}: {_verdict(figures['count_exact'] >= COUNT_TARGET)}"
        )
        log(
            f"   roles with every print {figures['role_all_prints']:.3f} (child recall "
            f"{figures['child_recall_all_prints']:.3f})  target >= {ROLE_TARGET_ALL_PRINTS}: "
            f"{_verdict(figures['role_all_prints'] >= ROLE_TARGET_ALL_PRINTS)}"
        )
        log(
            f"   roles with the therapist print only, 2 speakers "
            f"{figures['role_therapist_print_2spk']:.3f} (child recall "
            f"{figures['child_recall_therapist_print_2spk']:.3f})  target >= "
            f"{ROLE_TARGET_THERAPIST_PRINT}: "
            f"{_verdict(figures['role_therapist_print_2spk'] >= ROLE_TARGET_THERAPIST_PRINT)}"
        )
        log(
            f"   lanes called child without a print: {figures['child_without_print']:.0f}  "
            f"target 0: {_verdict(figures['child_without_print'] == 0)}"
        )
        log(
            f"   time: VAD {figures['vad_s']:.1f} s, speakers (3 namings share one embedding) "
            f"{figures['speaker_stage_s']:.1f} s"
        )
    return summary


def time_stages(
    data: Path, *, minutes: float, seed: int, cache_dir: Path | None, log: Any = print
) -> dict[str, float]:
    """CPU and wall seconds of speech detection and the speaker stage on ``minutes`` of
    audio: the quiet room's 2-speaker conversations, end to end, repeated to length (best of
    three; CPU time is what the stage costs a worker, wall time moves with machine load)."""
    clips = list_clips(data)
    parts: list[np.ndarray] = []
    i = 0
    while sum(p.size for p in parts) < minutes * 60 * SAMPLE_RATE:
        conv_seed = seed * 1000 + 200 + 10 * (i % 2) + i // 2
        speakers = cast(clips, 2, bool(i % 2), np.random.default_rng(conv_seed))
        conv = load_or_render(
            clips, speakers, ROOMS[0], turns=16, seed=conv_seed, cache_dir=cache_dir
        )
        parts.append(conv.audio)
        i += 1
    audio = np.concatenate(parts)[: int(minutes * 60 * SAMPLE_RATE)]
    assign_speakers(audio[: 20 * SAMPLE_RATE], detect_speech(audio[: 20 * SAMPLE_RATE]))
    best = {"vad_cpu_s": 1e9, "vad_wall_s": 1e9, "speakers_cpu_s": 1e9, "speakers_wall_s": 1e9}
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        segments = detect_speech(audio)
        best["vad_cpu_s"] = min(best["vad_cpu_s"], time.process_time() - cpu)
        best["vad_wall_s"] = min(best["vad_wall_s"], time.perf_counter() - wall)
        cpu, wall = time.process_time(), time.perf_counter()
        assign_speakers(audio, segments)
        best["speakers_cpu_s"] = min(best["speakers_cpu_s"], time.process_time() - cpu)
        best["speakers_wall_s"] = min(best["speakers_wall_s"], time.perf_counter() - wall)
    log(
        f"== {minutes:g} min of audio: VAD {best['vad_cpu_s']:.2f} s CPU "
        f"({best['vad_wall_s']:.2f} s wall), speakers {best['speakers_cpu_s']:.2f} s CPU "
        f"({best['speakers_wall_s']:.2f} s wall)"
    )
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="RAVDESS root directory")
    parser.add_argument(
        "--per-cell", type=int, default=3, help="conversations per size and sex mix"
    )
    parser.add_argument("--sizes", default="2,3,4")
    parser.add_argument("--rooms", default=",".join(r.name for r in ROOMS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("SER_CACHE", Path.home() / ".cache" / "ser-portal"))
        / "diarization-bench",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--time-minutes",
        type=float,
        default=0.0,
        help="also time detection and the speaker stage on this many minutes of audio",
    )
    args = parser.parse_args(argv)
    rooms = [r for r in ROOMS if r.name in args.rooms.split(",")]
    summary = run(
        args.data,
        per_cell=args.per_cell,
        sizes=[int(x) for x in args.sizes.split(",")],
        rooms=rooms,
        seed=args.seed,
        cache_dir=args.cache,
    )
    if args.time_minutes > 0:
        summary["timing"] = time_stages(
            args.data, minutes=args.time_minutes, seed=args.seed, cache_dir=args.cache
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
