"""Intake and decoding: every bad upload is refused with a readable reason, every good format
decodes to 16 kHz mono float32 of the right length."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.audio.decode import (
    TARGET_SR,
    AudioError,
    AudioLimits,
    DecodeStats,
    decode,
    iter_decode,
    probe,
    sha256_file,
    trial_decode,
)
from tests.analysis.audio_factory import (
    BAD_KINDS,
    EXPECTED_CODE,
    FFMPEG,
    encode_with_ffmpeg,
    ffmpeg_available,
    tone,
    write_bad_file,
    write_nasty_float_wav,
    write_silence_wav,
    write_speechlike_wav,
    write_tone_wav,
    write_wav,
)

needs_ffmpeg = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg CLI not installed")
_SUFFIX = {"video_no_audio": ".mp4", "truncated_flac": ".flac", "truncated_mp3": ".mp3"}


def _intake(path: Path, limits: AudioLimits | None = None) -> np.ndarray:
    """What the upload service and the worker do, in order."""
    probe(path, limits)
    trial_decode(path)
    return decode(path, limits)


def _dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / TARGET_SR)[spectrum.argmax()])


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_upload_is_refused_with_its_code_and_a_readable_message(
    kind: str, tmp_path: Path
) -> None:
    if kind in ("truncated_flac", "truncated_mp3", "video_no_audio") and not ffmpeg_available():
        pytest.skip("needs ffmpeg to build the file")
    path = write_bad_file(kind, tmp_path / f"bad{_SUFFIX.get(kind, '.wav')}")
    with pytest.raises(AudioError) as caught:
        _intake(path)
    assert caught.value.code == EXPECTED_CODE[kind]
    message = str(caught.value)
    assert len(message) > 15 and message[0].isupper() and "Errno" not in message


def test_ten_hour_file_is_refused_from_the_header_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bad_file("ten_hour_wav", tmp_path / "long.wav")
    monkeypatch.setattr("av.AudioResampler", None)  # any decoding attempt would crash
    started = time.perf_counter()
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert caught.value.code == "too_long"
    assert "10 h" in caught.value.message and "3 h" in caught.value.message
    assert time.perf_counter() - started < 1.0


def test_wav_header_claiming_4gb_is_reported_as_truncated_without_allocating(
    tmp_path: Path,
) -> None:
    path = write_bad_file("wav_claims_4gb", tmp_path / "liar.wav")
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert caught.value.code == "truncated"
    assert "4.3 GB" in caught.value.message


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "t.wav", seconds=2.0)
    with pytest.raises(AudioError) as caught:
        probe(path, AudioLimits(max_bytes=1000))
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("seconds", [0.3, 300 / 16000])
def test_clip_shorter_than_half_a_second_or_400_samples_is_too_short(
    seconds: float, tmp_path: Path
) -> None:
    path = write_wav(tmp_path / "short.wav", tone(seconds), 16000)
    with pytest.raises(AudioError) as caught:
        _intake(path)
    assert caught.value.code == "too_short"


def test_tiny_limit_still_enforces_the_400_sample_floor(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "short.wav", tone(300 / 16000), 16000)
    with pytest.raises(AudioError) as caught:
        probe(path, AudioLimits(min_duration_s=0.0))
    assert caught.value.code == "too_short"


GOOD_FORMATS = [".wav", ".flac", ".mp3", ".m4a", ".ogg", ".webm", ".mp4", ".mov"]


@pytest.fixture(scope="module")
def speech_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_speechlike_wav(tmp_path_factory.mktemp("src") / "src.wav", seconds=6.0)


@needs_ffmpeg
@pytest.mark.parametrize("suffix", GOOD_FORMATS)
def test_every_accepted_format_decodes_to_16k_mono_float32(
    suffix: str, speech_source: Path, tmp_path: Path
) -> None:
    path = encode_with_ffmpeg(speech_source, tmp_path / f"talk{suffix}")
    info = probe(path)
    assert info.has_audio and info.duration_s == pytest.approx(6.0, abs=0.1)
    audio = _intake(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Lossy codecs add encoder delay/padding; PyAV trims most of it.
    assert abs(audio.size - 6 * TARGET_SR) < 0.06 * TARGET_SR
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert np.abs(audio).max() > 0.1


def test_48k_stereo_is_downmixed_and_resampled(tmp_path: Path) -> None:
    left = tone(3.0, 48000, 440.0)
    right = tone(3.0, 48000, 440.0)
    path = write_wav(tmp_path / "st.wav", np.stack([left, right], axis=1), 48000)
    info = probe(path)
    assert (info.sample_rate, info.channels) == (48000, 2)
    audio = _intake(path)
    assert audio.size == 3 * TARGET_SR
    assert _dominant_hz(audio) == pytest.approx(440.0, abs=2.0)
    assert np.abs(audio[1000:-1000]).max() == pytest.approx(0.3, abs=0.01)


def _whole_file_reference(path: Path) -> np.ndarray:
    """The decoding rule applied to the whole file at once: every frame as packed float
    (PyAV), the channels averaged, clipped, then soxr HQ to 16 kHz in one call, clipped."""
    import av
    import soxr

    frames, rate = [], TARGET_SR
    with av.open(str(path)) as container:
        to_float = av.AudioResampler(format="flt")
        for frame in container.decode(audio=0):
            for converted in to_float.resample(frame):
                channels = converted.layout.nb_channels
                frames.append(converted.to_ndarray().reshape(-1, channels))
                rate = converted.sample_rate
    planes = np.concatenate(frames).T
    mono = np.clip(planes.mean(axis=0) if planes.shape[0] > 1 else planes[0], -1.0, 1.0)
    mono = mono.astype(np.float32)
    out = mono if rate == TARGET_SR else soxr.resample(mono, rate, TARGET_SR, quality="HQ")
    return np.clip(out, -1.0, 1.0)


@needs_ffmpeg
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("mono.webm", ()),  # the browser's recordings: 20 ms Opus frames
        ("stereo.webm", ("-ac", "2")),
        ("talk.mp3", ()),
        ("talk.flac", ("-ar", "44100")),
        ("talk.m4a", ("-ac", "2")),
        ("eight.wav", ("-ac", "8", "-ar", "192000", "-c:a", "pcm_s24le")),
        ("low.wav", ("-ar", "8000")),
    ],
)
def test_frames_are_downmixed_and_resampled_in_batches_with_the_whole_file_result(
    name: str,
    extra: tuple[str, ...],
    speech_source: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analysis.engine.audio import decode as decoding

    path = encode_with_ffmpeg(speech_source, tmp_path / name, *extra)
    downmixes: list[int] = []
    downmix = decoding._sanitize_and_downmix

    def counting(planes: np.ndarray, stats: DecodeStats) -> np.ndarray:
        downmixes.append(planes.shape[1])
        return downmix(planes, stats)

    monkeypatch.setattr(decoding, "_sanitize_and_downmix", counting)
    audio = decode(path)
    assert np.array_equal(audio, _whole_file_reference(path))
    # 6 s in batches of 32,768 source samples: at most 9 at 48 kHz (frame by frame, Opus's
    # 20 ms frames made 300).
    assert len(downmixes) <= -(-sum(downmixes) // decoding._BATCH_SAMPLES) + 1


@pytest.mark.parametrize("channels", [8, 12])
def test_eight_or_more_channels_at_192k_decode_in_a_separate_process(
    tmp_path: Path, channels: int
) -> None:
    """A field recorder's file. Decoded in a child process: this once crashed the process
    (PyAV's planar to_ndarray with 8+ channels), which would take the test run down with it."""
    import json
    import sys

    mono = tone(2.0, 192000, 440.0)
    path = write_wav(tmp_path / "multi.wav", np.stack([mono] * channels, axis=1), 192000, "PCM_24")
    script = (
        "import json, sys, numpy as np; from analysis.engine.audio.decode import decode; "
        "a = decode(sys.argv[1]); print(json.dumps([a.size, float(np.abs(a[1000:-1000]).max())]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    size, peak = json.loads(done.stdout)
    assert size == 2 * TARGET_SR
    assert peak == pytest.approx(0.3, abs=0.01)


def test_opposite_phase_stereo_channels_average_to_silence(tmp_path: Path) -> None:
    mono = tone(1.0, 16000, 300.0)
    path = write_wav(tmp_path / "phase.wav", np.stack([mono, -mono], axis=1), 16000)
    assert np.abs(_intake(path)).max() < 1e-3


def test_8k_telephone_audio_is_upsampled(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "tel.wav", seconds=2.0, sr=8000, freq=500.0)
    audio = _intake(path)
    assert audio.size == 2 * TARGET_SR
    assert _dominant_hz(audio) == pytest.approx(500.0, abs=2.0)


def test_nan_inf_and_clipped_samples_are_repaired_and_counted(tmp_path: Path) -> None:
    path = write_nasty_float_wav(tmp_path / "nasty.wav")
    stats = DecodeStats()
    audio = decode(path, stats=stats)
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert stats.non_finite_samples == 102
    # A 1.5-amplitude sine spends ~46% of its time above full scale.
    assert 0.4 < stats.clipping_ratio < 0.55


def test_silence_is_accepted_by_intake(tmp_path: Path) -> None:
    audio = _intake(write_silence_wav(tmp_path / "quiet.wav", seconds=2.0))
    assert audio.size == 2 * TARGET_SR and not audio.any()


@needs_ffmpeg
def test_streamed_webm_without_duration_is_limited_while_decoding(
    speech_source: Path, tmp_path: Path
) -> None:
    # Browser MediaRecorder WebM has no duration in its header; the limit must still hold.
    path = tmp_path / "stream.webm"
    with path.open("wb") as out:
        subprocess.run(
            [FFMPEG, "-loglevel", "error", "-i", str(speech_source), "-c:a", "libopus",
             "-f", "webm", "pipe:1"],
            check=True,
            stdout=out,
        )  # fmt: skip
    limits = AudioLimits(max_duration_s=2.0)
    info = probe(path, limits)
    if info.duration_s is not None:
        pytest.skip("this ffmpeg wrote a duration even when streaming")
    with pytest.raises(AudioError) as caught:
        decode(path, limits)
    assert caught.value.code == "too_long"


def test_decode_gives_up_after_the_time_limit(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "t.wav", seconds=2.0)
    with pytest.raises(AudioError) as caught:
        decode(path, AudioLimits(decode_timeout_s=-1.0))
    assert caught.value.code == "timeout"


def test_iter_decode_yields_bounded_blocks_that_add_up(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "t.wav", seconds=5.0, sr=44100)
    blocks = list(iter_decode(path, block_s=1.0))
    assert all(b.size <= TARGET_SR for b in blocks)
    assert sum(b.size for b in blocks) == 5 * TARGET_SR
    whole = decode(path)
    assert np.array_equal(np.concatenate(blocks), whole)


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "t.wav", seconds=1.0)
    assert sha256_file(path, chunk_bytes=1000) == hashlib.sha256(path.read_bytes()).hexdigest()
