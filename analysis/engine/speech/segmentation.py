"""Where is someone speaking? Silero VAD over 16 kHz mono audio.

Silero scores 32 ms frames with a tiny recurrent network. Fed one frame at a time (its usual
API) it runs ~70x real time on one core, which would cost ~40 s of a 45-minute session; so the
audio is cut into blocks that run side by side as a batch of independent streams (~900x real
time). Each block after the first starts ``_WARMUP_S`` early and its warm-up probabilities are
dropped, because a stream with fresh state needs a few frames before it scores reliably.
Blocks are processed in groups, so memory stays bounded whatever the recording length.

The model is tiny and single-threaded at heart: with two threads it runs ~10x *slower* than
with one (synchronisation dominates), so inference runs under ``torch_threads(1)``. A recording
of more than one group of blocks (over ~21 minutes) is scored by two streams side by side
instead, each with its own copy of the model and every other group (``_STREAMS``; the same
numbers, since every group starts from a fresh state): 2.4 s -> 1.4 s on 45 minutes, 2 cores.
Blocks of digital silence (all samples exactly zero: a muted microphone, a padded file) are
not run: they take silero's probabilities for one such block, computed once (``_silence``;
within 4e-8 of scoring them in their batch, ~0.009 at most). With the matching skip in
``denoise``, 3 hours of zeros are segmented in ~4 s instead of ~24 s.

Rooms (measured with ``python -m analysis.engine.benchmarks.diarization`` on 12 conversations
of 2-4 speakers, children 0-6 dB quieter; frame F1 quiet room / RT60 0.5 s with 15 dB noise):

- Level. Silero scores the same speech lower when it is quiet: a room recording's speech
  often sits at -30 to -35 dBFS. ``level_gain_db`` raises the recording (never lowers it) so
  that its loud frames sit at ``target_dbfs`` (-14 dBFS), by at most 24 dB, and only when
  there is something above the noise floor (loud frames >= 6 dB over quiet ones), so a
  noise-only file is not boosted into "speech". 0.813/0.576 -> 0.860/0.709 at the old
  thresholds.
- Thresholds. Soft speech (calm, sad, children) and reverberant tails score 0.1-0.4 in a
  room: with 0.5 the noisy-room recall was 0.45. Threshold 0.15 to enter speech, 0.05 to leave
  it (silero's own hysteresis, ``neg_threshold``), 200 ms minimum speech and silence, 100 ms
  padding: 0.893/0.794 (precision 0.85/0.85, recall 0.94/0.78). More padding or a longer
  minimum silence only moves frames between precision and recall.
- Steady noise. Speech that is soft *for its room* (RAVDESS's calm takes next to angry ones,
  children 0-6 dB quieter) sits at or under the noise floor, where silero scores it ~0.01
  whatever the threshold. ``denoise.suppress_stationary_noise`` (spectral subtraction, 64 ms
  frames, strong over-subtraction) runs first, for the VAD only: on the 36 conversations of
  ``python -m analysis.engine.benchmarks speakers`` F1 0.888/0.790 -> 0.904/0.853 (recall
  0.918/0.757 -> 0.945/0.881, precision 0.864/0.858 -> 0.868/0.835). Textbook settings
  (32 ms frames, over-subtraction 1-1.5) gained 0.01; noisereduce's spectral gating had
  lowered F1 (0.872/0.723).
- Batched vs stock streaming. Silero's ``get_speech_timestamps`` runs one stream over the
  whole file with a 64-sample context carried between frames; the batched blocks here restart
  the state every 10 s after a 2 s warm-up. On the same 12 conversations the two agree on
  89-98 % of frames at 0.5 and give F1 within 0.01 of each other at the chosen thresholds
  (a 6 s warm-up gained < 0.01 and costs 3x the compute), so the batching stays; the decision
  step is silero's own (``get_speech_timestamps_from_probs``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.engine.speech.denoise import NoiseSuppression, suppress_stationary_noise

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512  # silero's fixed frame at 16 kHz (32 ms)
_BLOCK_S = 10.0
_WARMUP_S = 2.048  # 64 frames of context before each block's first kept frame
_BLOCKS_PER_BATCH = 128


@dataclass(frozen=True)
class Segment:
    """A stretch of speech, in seconds from the start of the recording."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class VadParams:
    """Decision parameters, chosen for conversational speech in a therapy room.

    Low thresholds with hysteresis keep soft and reverberant speech (see the module
    docstring for the measurements); 200 ms minimum speech drops clicks but keeps a child's
    one-word answer; 200 ms minimum silence separates quick turns (a speaker change inside
    a segment is found later, by the speaker stage); 100 ms padding keeps word onsets and
    offsets the VAD scores as silence.
    """

    threshold: float = 0.15
    neg_threshold: float = 0.05
    min_speech_ms: int = 200
    min_silence_ms: int = 200
    speech_pad_ms: int = 100
    target_dbfs: float = -14.0
    max_gain_db: float = 24.0
    noise: NoiseSuppression = field(default_factory=NoiseSuppression)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` intra-op threads and restore the previous setting after."""
    # torch is imported where it is used: importing segmentation (speech masks, segment types,
    # and through them summaries and labels) must not load torch in web processes.
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_model_lock = threading.Lock()
_models: list[Any] = []  # loaded silero models; one per stream that has run (``vad_models``)
_STREAMS = 2  # at most this many groups of blocks are scored at the same time


def get_vad_model() -> Any:
    """The silero model, loaded once per process on first use."""
    return vad_models(1)[0]


def vad_models(n: int) -> list[Any]:
    """``n`` independent silero models (each keeps its own recurrent state), the first being
    ``get_vad_model()``; each is loaded on first use and kept.

    Importing silero_vad calls ``torch.set_num_threads(1)`` as a side effect, which would
    silently make every later model in the worker single-threaded; the setting is restored.
    """
    with _model_lock:
        while len(_models) < n:
            import torch

            previous = torch.get_num_threads()
            from silero_vad import load_silero_vad

            _models.append(load_silero_vad(onnx=False))
            torch.set_num_threads(previous)
        return _models[:n]


def speech_probabilities(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Silero's speech probability for each 32 ms frame of ``audio`` (16 kHz mono)."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"detect_speech expects {SAMPLE_RATE} Hz audio, got {sr}")
    audio = np.asarray(audio, dtype=np.float32)
    n_frames = -(-audio.size // FRAME_SAMPLES)
    if n_frames == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(n_frames * FRAME_SAMPLES, dtype=np.float32)
    padded[: audio.size] = audio
    block = int(_BLOCK_S * SAMPLE_RATE) // FRAME_SAMPLES  # frames kept per block
    warm = round(_WARMUP_S * SAMPLE_RATE / FRAME_SAMPLES)
    starts = list(range(0, n_frames, block))
    groups = [starts[g : g + _BLOCKS_PER_BATCH] for g in range(0, len(starts), _BLOCKS_PER_BATCH)]
    out = np.zeros(n_frames, dtype=np.float32)
    import torch

    def score(model: Any, my_groups: Sequence[list[int]]) -> None:
        for group in my_groups:
            rows = np.zeros((len(group), (block + warm) * FRAME_SAMPLES), dtype=np.float32)
            for i, start in enumerate(group):
                lo = max(start - warm, 0)
                hi = min(start + block, n_frames)
                # Right-align so every row's kept frames start at the same column.
                offset = (warm - (start - lo)) * FRAME_SAMPLES
                piece = padded[lo * FRAME_SAMPLES : hi * FRAME_SAMPLES]
                rows[i, offset : offset + piece.size] = piece
                if offset:
                    # The recording's first block: warm up on its own opening, reversed.
                    # A fresh state (or one warmed on digital silence) scores the onset of
                    # any room noise as speech for ~0.3 s (up to 0.47 on faint white noise).
                    head = padded[: min(offset, padded.size)][::-1]
                    rows[i, offset - head.size : offset] = head
            silent = _silent_rows(rows)
            probs = np.empty((len(group), block + warm), dtype=np.float32)
            if silent.any():
                probs[silent] = _silence_probabilities(model, rows.shape[1])
            if not silent.all():
                with torch.inference_mode():
                    model.reset_states()
                    loud = torch.from_numpy(rows[~silent])
                    probs[~silent] = model.audio_forward(loud, SAMPLE_RATE).numpy()
            for i, start in enumerate(group):
                hi = min(start + block, n_frames)
                out[start:hi] = probs[i, warm : warm + hi - start]

    streams = min(_STREAMS, len(groups), len(os.sched_getaffinity(0)))
    with torch_threads(1):
        if streams == 1:
            score(get_vad_model(), groups)
        else:
            # Each stream writes its own groups' frames of ``out``: no two touch the same one.
            with ThreadPoolExecutor(streams) as pool:
                jobs = [
                    pool.submit(score, model, groups[k::streams])
                    for k, model in enumerate(vad_models(streams))
                ]
                for job in jobs:
                    job.result()
    return out


def _silent_rows(rows: np.ndarray) -> np.ndarray:
    """Which blocks (warm-up included) are digital silence: all samples exactly zero."""
    return np.logical_not(rows.any(axis=1))


# Silero's probabilities for one block of digital silence from a fresh state, by block length
# (in samples): a muted microphone or a padded file gives hours of such blocks, and every one
# of them would score the same (~0.009 at most, far under any threshold), so each is copied
# from here instead of run. In a batch of other blocks the same zeros score within 4e-8 of it.
_silence_lock = threading.Lock()
_silence: dict[int, np.ndarray] = {}


def _silence_probabilities(model: Any, samples: int) -> np.ndarray:
    import torch

    with _silence_lock:
        if samples not in _silence:
            with torch.inference_mode():
                model.reset_states()
                zeros = torch.zeros((1, samples), dtype=torch.float32)
                _silence[samples] = model.audio_forward(zeros, SAMPLE_RATE).numpy()[0]
        return _silence[samples]


def _frame_power(audio: np.ndarray, n: int, chunk: int = 1 << 14) -> np.ndarray:
    """Mean power (float64) of each of the first ``n`` 512-sample frames of ``audio``.

    Computed ``chunk`` frames at a time: the same numbers as squaring the whole recording at
    once, without its float64 copies (45 minutes: 0.09 s instead of 0.9 s).
    """
    out = np.empty(n)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        frames = np.asarray(audio[a * FRAME_SAMPLES : b * FRAME_SAMPLES], dtype=np.float64)
        out[a:b] = (frames.reshape(b - a, FRAME_SAMPLES) ** 2).mean(axis=1)
    return out


def level_gain_db(
    audio: np.ndarray, target_dbfs: float = -14.0, max_gain_db: float = 24.0
) -> float:
    """Gain (dB, >= 0) that puts the recording's loud frames at ``target_dbfs``.

    "Loud" is the 95th percentile of 32 ms frame levels, so a single shout or click does not
    set it. No gain when the 95th percentile is less than 6 dB over the 20th (nothing stands
    out of the noise floor: silence, steady noise or a tone).
    """
    n = np.asarray(audio).size // FRAME_SAMPLES
    if n < 4:
        return 0.0
    db = 10 * np.log10(_frame_power(audio, n) + 1e-12)
    loud, floor = np.percentile(db, 95), np.percentile(db, 20)
    if loud - floor < 6.0 or loud < -100.0:
        return 0.0
    return float(np.clip(target_dbfs - loud, 0.0, max_gain_db))


def detect_speech(
    audio: np.ndarray, sr: int = SAMPLE_RATE, params: VadParams | None = None
) -> list[Segment]:
    """Speech segments of a 16 kHz mono recording, sorted and non-overlapping.

    The audio is cleaned of steady noise (``denoise``) and level-normalised
    (``level_gain_db``) for the VAD only; callers keep theirs.
    """
    from silero_vad import get_speech_timestamps_from_probs

    params = params or VadParams()
    if sr != SAMPLE_RATE:
        raise ValueError(f"detect_speech expects {SAMPLE_RATE} Hz audio, got {sr}")
    audio = suppress_stationary_noise(np.asarray(audio, dtype=np.float32), sr, params.noise)
    gain = level_gain_db(audio, params.target_dbfs, params.max_gain_db)
    if gain > 0:
        audio = np.clip(audio * np.float32(10 ** (gain / 20)), -1.0, 1.0)
    probs = speech_probabilities(audio, sr)
    if probs.size == 0:
        return []
    stamps = get_speech_timestamps_from_probs(
        probs.tolist(),
        sampling_rate=SAMPLE_RATE,
        threshold=params.threshold,
        neg_threshold=params.neg_threshold,
        min_speech_duration_ms=params.min_speech_ms,
        min_silence_duration_ms=params.min_silence_ms,
        speech_pad_ms=params.speech_pad_ms,
        audio_length_samples=int(np.asarray(audio).size),
    )
    return [Segment(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def speech_mask(
    segments: Sequence[Segment], duration_s: float, frame_s: float = 0.01
) -> np.ndarray:
    """Boolean speech/non-speech per ``frame_s`` frame, for frame-level F1 against a reference.

    A frame counts as speech when its centre lies inside a segment.
    """
    n = int(np.ceil(duration_s / frame_s - 1e-9))
    mask = np.zeros(n, dtype=bool)
    for seg in segments:
        # Frame i's centre is (i + 0.5) * frame_s.
        lo = max(int(np.ceil(seg.start_s / frame_s - 0.5)), 0)
        hi = min(int(np.ceil(seg.end_s / frame_s - 0.5)), n)
        mask[lo:hi] = True
    return mask


def frame_f1(predicted: np.ndarray, reference: np.ndarray) -> float:
    """F1 of the speech class over aligned boolean frame masks (1.0 when both are empty)."""
    n = min(predicted.size, reference.size)
    p, r = predicted[:n].astype(bool), reference[:n].astype(bool)
    tp = int((p & r).sum())
    fp = int((p & ~r).sum())
    fn = int((~p & r).sum())
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)
