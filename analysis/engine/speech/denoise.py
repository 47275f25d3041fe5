"""Steady room noise taken out before speech detection and voice embedding.

Ventilation, hum, a projector's fan and the hiss of a cheap microphone are stationary: their
power in each frequency band hardly changes over a session, while speech comes and goes. So
the noise's spectrum is estimated per band as a low percentile of that band's power over the
recording (speech is sparse in time and frequency, so most of a band's frames are noise even
in a busy conversation), and every frame is multiplied by a spectral-subtraction gain
``sqrt(max(1 - over_subtraction * noise / power, floor))``. The strong over-subtraction
leaves only what stands well above the floor (voiced speech, whose harmonics are narrow peaks
in 64 ms frames) and silences the rest; silero and resemblyzer see a cleaner signal. It is used
only for detection and embedding: emotion and prosody keep the recording as it is.

Measured with ``python -m analysis.engine.benchmarks speakers`` (docs/pipeline.md, issue 11):
in the reverberant room with noise 15 dB below speech, speech F1 0.790 -> 0.853 and
resemblyzer's nearest-voice accuracy of 1.5 s pieces 0.86 -> 0.91; in the quiet room F1
0.888 -> 0.904. Over-subtraction 1-1.5 with 32 ms frames (textbook settings) gained only 0.01:
soft speech sits near the noise floor and needs the narrow bands of 64 ms frames to rise above
it.

Enrollment prints are embedded without it (``speakers.diarization.enroll_embedding``: prints
made through it named voices worse on the benchmark, for a reason not established).

Non-stationary noise (babble, a door) is not modelled: its percentile is low, so it is mostly
left as it was, as is a recording without audible noise (its floor is tiny).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class NoiseSuppression:
    """Spectral subtraction settings (see the module docstring for how they were chosen)."""

    enabled: bool = True
    frame: int = 1024  # 64 ms at 16 kHz
    noise_percentile: float = 30.0
    over_subtraction: float = 5.0
    floor_db: float = -30.0  # the least a band is attenuated to, in power
    # The noise spectrum is estimated from at most this many evenly spread frames, which
    # bounds its memory on long recordings (20,000 x 513 floats ~ 41 MB).
    max_estimate_frames: int = 20000
    batch_frames: int = 4096


def _frames_view(padded: np.ndarray, frame: int, hop: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]


def noise_spectrum(audio: np.ndarray, settings: NoiseSuppression | None = None) -> np.ndarray:
    """Per-band noise power (``frame // 2 + 1`` values): a low percentile of each band."""
    from scipy import fft

    settings = settings or NoiseSuppression()
    frame = settings.frame
    x = np.asarray(audio, dtype=np.float32)
    n = x.size // frame
    if n == 0:
        return np.zeros(frame // 2 + 1, dtype=np.float32)
    blocks = x[: n * frame].reshape(n, frame)
    step = max(1, -(-n // settings.max_estimate_frames))
    window = np.hanning(frame).astype(np.float32)
    power = np.abs(fft.rfft(blocks[::step] * window, axis=1)) ** 2
    return np.percentile(power, settings.noise_percentile, axis=0).astype(np.float32)


# The last result, for the same recording asked again: the pipeline hands one array to speech
# detection and then to the speaker stage, and each needs the suppressed signal (~0.4 s of CPU
# per 5 minutes of audio each time). Keyed by the array object (a weak reference, so the entry
# goes when the recording does), its settings and a checksum of its samples, so an array
# changed in place is computed afresh. The result is read-only: it may be handed out twice.
_last_lock = threading.Lock()
_last: tuple[weakref.ref[np.ndarray], NoiseSuppression, float, np.ndarray] | None = None


def _checksum(x: np.ndarray) -> float:
    return float(np.sum(x, dtype=np.float64)) + float(np.sum(x[::7], dtype=np.float64))


def suppress_stationary_noise(
    audio: np.ndarray, sr: int = SAMPLE_RATE, settings: NoiseSuppression | None = None
) -> np.ndarray:
    """``audio`` (mono float) with its stationary noise subtracted; same length, float32 and
    read-only (it may be shared, see ``_last``). Returns the input unchanged when disabled or
    shorter than one frame."""
    global _last
    if sr != SAMPLE_RATE:
        raise ValueError(f"suppress_stationary_noise expects {SAMPLE_RATE} Hz audio, got {sr}")
    settings = settings or NoiseSuppression()
    x = np.asarray(audio, dtype=np.float32)
    if not settings.enabled or x.size < settings.frame:
        return x
    checksum = _checksum(x)
    with _last_lock:
        last = _last
    if last is not None and last[0]() is audio and last[1] == settings and last[2] == checksum:
        return last[3]
    out = _suppress(x, noise_spectrum(x, settings), settings)
    out.flags.writeable = False
    if isinstance(audio, np.ndarray):
        with _last_lock:
            _last = (weakref.ref(audio), settings, checksum, out)
    return out


def _all_zero(samples: np.ndarray) -> bool:
    return not samples.any()


def _suppress(x: np.ndarray, noise: np.ndarray, settings: NoiseSuppression) -> np.ndarray:
    from scipy import fft

    frame = settings.frame
    hop = frame // 4
    floor = np.float32(10 ** (settings.floor_db / 10))
    over = np.float32(settings.over_subtraction)
    window = np.hanning(frame + 1)[:-1].astype(np.float32)  # periodic: exact overlap-add
    # Analysis and synthesis both windowed: at 75 % overlap the squared periodic Hann windows
    # sum to 1.5 everywhere, so an all-ones gain gives back the input exactly.
    norm = np.float32(1.0 / 1.5)
    padded = np.concatenate([np.zeros(frame, np.float32), x, np.zeros(2 * frame, np.float32)])
    frames = _frames_view(padded, frame, hop)
    out = np.zeros(padded.size, dtype=np.float32)
    for lo in range(0, frames.shape[0], settings.batch_frames):
        chunk = frames[lo : lo + settings.batch_frames]
        if _all_zero(padded[lo * hop : (lo + chunk.shape[0] - 1) * hop + frame]):
            # Digital silence (a muted microphone, a paused or padded file): every frame's
            # spectrum is exactly zero, so its overlap-add would add exact zeros.
            continue
        spectrum = fft.rfft(chunk * window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        gain = np.sqrt(np.maximum(1.0 - over * noise / np.maximum(power, 1e-20), floor))
        y = fft.irfft(spectrum * gain.astype(np.float32), n=frame, axis=1) * (window * norm)
        # Frames i, i+4, i+8, ... tile the signal without overlapping: add each phase at once.
        for phase in range(4):
            part = y[phase::4]
            if not part.size:
                continue
            start = (lo + phase) * hop
            out[start : start + part.size] += part.reshape(-1)
    return out[frame : frame + x.size]
