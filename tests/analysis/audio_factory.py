"""Generators for test recordings: good ones in every format we accept, and every bad kind.

Shared with the Django upload tests, so functions take a destination path and return it. All
audio is generated (tones, a formant "speech-like" signal, espeak-ng speech when installed);
nothing is downloaded. ffmpeg is used only here, to *encode* test files; production decoding
goes through PyAV.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"


def ffmpeg_available() -> bool:
    return Path(FFMPEG).exists()


def espeak_available() -> bool:
    return Path(ESPEAK).exists()


def write_wav(path: Path, audio: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    """Write (n,) or (n, channels) float audio."""
    sf.write(str(path), audio, sr, subtype=subtype, format="WAV")
    return Path(path)


def tone(seconds: float, sr: int = 16000, freq: float = 220.0, amplitude: float = 0.3):
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_tone_wav(
    path: Path, seconds: float = 2.0, sr: int = 16000, freq: float = 220.0, channels: int = 1
) -> Path:
    mono = tone(seconds, sr, freq)
    audio = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    return write_wav(path, audio, sr)


def write_silence_wav(path: Path, seconds: float = 3.0, sr: int = 16000) -> Path:
    return write_wav(path, np.zeros(int(seconds * sr), dtype=np.float32), sr)


def speechlike(
    seconds: float, sr: int = 16000, f0: float = 140.0, seed: int = 0, pause_s: float = 0.6
) -> np.ndarray:
    """Voiced syllables grouped into phrases with pauses (see ``analysis.synthetic``)."""
    from analysis.synthetic import speechlike as generate

    return generate(seconds, sr=sr, f0=f0, seed=seed, pause_s=pause_s)


def write_speechlike_wav(path: Path, seconds: float = 5.0, sr: int = 16000, **kw) -> Path:
    return write_wav(path, speechlike(seconds, sr, **kw), sr)


def espeak_speech(
    text: str, voice: str = "en-us", pitch: int = 50, speed: int = 160, sr: int = 16000
) -> np.ndarray:
    """Synthesised speech from espeak-ng, resampled to ``sr`` (espeak itself writes 22.05 kHz)."""
    import soxr

    raw = subprocess.run(
        [ESPEAK, "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    import io

    audio, native = sf.read(io.BytesIO(raw), dtype="float32")
    return soxr.resample(audio, native, sr).astype(np.float32)


def write_espeak_wav(path: Path, text: str, **kw) -> Path:
    sr = kw.pop("sr", 16000)
    return write_wav(path, espeak_speech(text, sr=sr, **kw), sr)


_CODECS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    ".m4a": ["-c:a", "aac", "-b:a", "64k"],
    ".aac": ["-c:a", "aac", "-b:a", "64k"],
    ".ogg": ["-c:a", "libopus", "-b:a", "32k"],
    ".opus": ["-c:a", "libopus", "-b:a", "32k"],
    ".webm": ["-c:a", "libopus", "-b:a", "32k"],
}


def encode_with_ffmpeg(src: Path, dst: Path, *extra: str) -> Path:
    """Encode ``src`` into ``dst``, the codec chosen from dst's suffix.

    .mp4/.mov get a small black H.264 video track next to AAC audio, like a phone video.
    """
    dst = Path(dst)
    suffix = dst.suffix.lower()
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y"]
    if suffix in (".mp4", ".mov"):
        cmd += ["-f", "lavfi", "-i", "color=c=black:s=64x64:r=10", "-i", str(src)]
        cmd += ["-map", "0:v", "-map", "1:a", "-shortest", "-c:v", "libx264", "-c:a", "aac"]
        cmd += ["-pix_fmt", "yuv420p"]
    else:
        cmd += ["-i", str(src), *_CODECS[suffix]]
    cmd += [*extra, str(dst)]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst


def write_video_without_audio(path: Path, seconds: float = 2.0) -> Path:
    subprocess.run(
        [
            FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"color=c=black:s=64x64:r=10:d={seconds}", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Path(path)


def wav_header(data_bytes: int, sr: int = 16000, channels: int = 1, bits: int = 16) -> bytes:
    """A canonical 44-byte PCM WAV header declaring ``data_bytes`` of sample data."""
    block = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", min(36 + data_bytes, 0xFFFFFFFF))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sr, sr * block, block, bits)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def write_long_wav(path: Path, hours: float, sr: int = 100) -> Path:
    """A WAV that honestly is ``hours`` long (header and data agree), written sparse.

    A 100 Hz 8-bit mono stream keeps 10 h at 3.6 MB, so it is cheap to upload in web tests
    too; the duration limit must fire from the header, before anything is decoded.
    """
    data_bytes = int(hours * 3600 * sr)
    with Path(path).open("wb") as f:
        f.write(wav_header(data_bytes, sr=sr, bits=8))
        f.truncate(44 + data_bytes)
    return Path(path)


def write_nasty_float_wav(path: Path, seconds: float = 2.0, sr: int = 16000) -> Path:
    """32-bit float WAV with NaN, +/-inf and samples far beyond full scale."""
    audio = tone(seconds, sr, 300.0, amplitude=1.5)  # a third of it over full scale
    audio[100:200] = np.nan
    audio[300] = np.inf
    audio[301] = -np.inf
    return write_wav(path, audio, sr, subtype="FLOAT")


def _truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


BAD_KINDS = (
    "empty",
    "header_only_wav",
    "wav_claims_4gb",
    "html_as_wav",
    "text_as_wav",
    "truncated_flac",
    "truncated_mp3",
    "video_no_audio",
    "ten_hour_wav",
    "too_short_wav",
    "random_bytes",
)

# What ``analysis.audio`` should say about each bad kind (AudioError.code).
EXPECTED_CODE = {
    "empty": "empty",
    "header_only_wav": "empty",
    "wav_claims_4gb": "truncated",
    "html_as_wav": "not_audio",
    "text_as_wav": "not_audio",
    "truncated_flac": "truncated",
    "truncated_mp3": "truncated",
    "video_no_audio": "no_audio_track",
    "ten_hour_wav": "too_long",
    "too_short_wav": "too_short",
    "random_bytes": "not_audio",
}


def write_bad_file(kind: str, path: Path) -> Path:
    """Write one kind of upload the portal must refuse (see ``BAD_KINDS``/``EXPECTED_CODE``)."""
    path = Path(path)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only_wav":
        path.write_bytes(wav_header(0))
    elif kind == "wav_claims_4gb":
        body = (tone(1.0) * 32767).astype("<i2").tobytes()
        path.write_bytes(wav_header(0xFFFFFF00) + body)
    elif kind == "html_as_wav":
        path.write_text("<!DOCTYPE html>\n<html><head><title>Login</title></head><body>" * 20)
    elif kind == "text_as_wav":
        path.write_text("child,date,notes\n1,2024-01-01,good session\n" * 30)
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).integers(1, 256, 4096, dtype=np.uint8).tobytes())
    elif kind in ("truncated_flac", "truncated_mp3"):
        src = write_speechlike_wav(path.with_suffix(".src.wav"), seconds=12.0)
        encode_with_ffmpeg(src, path.with_suffix(".flac" if "flac" in kind else ".mp3"))
        encoded = path.with_suffix(".flac" if "flac" in kind else ".mp3")
        src.unlink()
        _truncate(encoded, 0.4)
        if encoded != path:
            encoded.replace(path)
    elif kind == "video_no_audio":
        write_video_without_audio(path)
    elif kind == "ten_hour_wav":
        write_long_wav(path, hours=10.0)
    elif kind == "too_short_wav":
        write_wav(path, tone(300 / 16000), 16000)
    else:
        raise ValueError(f"unknown bad file kind {kind!r}")
    return path
