"""Practice review helpers of the engine: the level and pitch contour drawn beside the "how
the voice sounded" numbers, and the remux that gives a browser WebM a duration and seek index."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from analysis.engine import prosody
from analysis.engine.audio import decode, remux

SR = 16000


def _glide(seconds: float, f_start: float, f_end: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    freq = f_start * (f_end / f_start) ** (t / seconds)  # even in semitones
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (0.3 * np.sin(phase)).astype(np.float32)


def test_contour_follows_a_rising_voice_in_semitones_from_its_own_median() -> None:
    clip = np.concatenate([np.zeros(SR // 4, dtype=np.float32), _glide(1.5, 150.0, 300.0)])
    shape = prosody.contour(clip)
    assert shape.step_s == pytest.approx(0.02)
    assert len(shape.times) == len(shape.level) == len(shape.pitch_st)
    assert shape.times[-1] == pytest.approx(1.75, abs=0.05)
    assert max(shape.level) == 1.0
    voiced = [p for p in shape.pitch_st if p is not None]
    # One octave up: from about -6 to about +6 semitones around the median (212 Hz).
    assert voiced[-1] - voiced[0] == pytest.approx(12.0, abs=1.5)
    assert shape.median_hz == pytest.approx(212.0, rel=0.05)
    # The leading silence is unvoiced and quiet.
    assert shape.pitch_st[0] is None and shape.level[0] < 0.01


def test_contour_of_silence_has_no_pitch() -> None:
    shape = prosody.contour(np.zeros(SR, dtype=np.float32))
    assert shape.pitch_st and all(p is None for p in shape.pitch_st)
    assert shape.median_hz is None


class _Stream(io.RawIOBase):
    """A sink that cannot seek, as the browser's recorder is: no duration, no cues."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def _browser_webm(path: Path, seconds: float = 2.0, sr: int = 48000) -> Path:
    sink = _Stream()
    with av.open(sink, "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=sr)
        stream.layout = "mono"
        t = np.arange(int(seconds * sr)) / sr
        x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        for i in range(0, x.size, 960):
            frame = av.AudioFrame.from_ndarray(x[None, i : i + 960], format="flt", layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    path.write_bytes(bytes(sink.data))
    return path


def test_remux_gives_a_browser_webm_its_duration_without_changing_the_sound(
    tmp_path: Path,
) -> None:
    raw = _browser_webm(tmp_path / "attempt.webm")
    with av.open(str(raw)) as container:
        assert container.duration is None
    assert remux.needs_index(raw)
    fixed = tmp_path / "fixed.webm"
    assert remux.remux_with_index(raw, fixed)
    assert not remux.needs_index(fixed)
    with av.open(str(fixed)) as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(2.0, abs=0.05)
    # Packets are copied, not re-encoded: the decoded sound is the same.
    assert np.array_equal(decode.decode(raw), decode.decode(fixed))


def test_remux_leaves_other_files_alone(tmp_path: Path) -> None:
    import soundfile as sf

    wav = tmp_path / "model.wav"
    sf.write(str(wav), np.zeros(SR, dtype=np.float32), SR)
    assert not remux.needs_index(wav)
    assert not remux.remux_with_index(wav, tmp_path / "out.webm")
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"not a recording")
    assert not remux.needs_index(junk)
    assert not remux.remux_with_index(junk, tmp_path / "out2.webm")
