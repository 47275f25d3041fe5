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
from collections.abc import Callable
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
    """Voiced syllables grouped into phrases with pauses (see
    ``analysis.engine.benchmarks.synthetic``)."""
    from analysis.engine.benchmarks.synthetic import speechlike as generate

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

# What ``analysis.engine.audio.decode`` should say about each bad kind (AudioError.code).
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


# --- the bad-audio corpus -----------------------------------------------------------------------
# Every file a clinic might really send, broken or merely extreme. Each must end in a 4xx with a
# readable message or in a completed analysis (tests/analysis/test_bad_audio_corpus.py).


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
    )


def write_zero_length_stream(path: Path) -> Path:
    """An MP4 (AAC) or WebM (Opus) whose audio stream holds no samples at all."""
    codec = ["-c:a", "libopus"] if path.suffix == ".webm" else ["-c:a", "aac"]
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "0", *codec, str(path))
    return Path(path)


def write_huge_header_wav(path: Path, header_mib: int = 16, seconds: float = 3.0) -> Path:
    """A WAV whose ``fmt`` and ``data`` chunks sit behind ``header_mib`` MiB of a LIST chunk."""
    audio = (speechlike(seconds) * 32767).astype("<i2").tobytes()
    junk = b"INFO" + b"\0" * (header_mib * 1024 * 1024 - 4)
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    body = (
        b"WAVE"
        + b"LIST" + struct.pack("<I", len(junk)) + junk
        + b"fmt " + fmt
        + b"data" + struct.pack("<I", len(audio)) + audio
    )  # fmt: skip
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(path)


def write_huge_id3_mp3(path: Path, tag_mib: int = 8, seconds: float = 3.0) -> Path:
    """An MP3 behind an ID3v2 tag of ``tag_mib`` MiB (a cover picture gone wrong)."""
    src = write_speechlike_wav(path.with_suffix(".src.wav"), seconds=seconds)
    mp3 = encode_with_ffmpeg(src, path.with_suffix(".tmp.mp3"))
    src.unlink()
    size = tag_mib * 1024 * 1024
    # ID3v2 sizes are "synchsafe": 7 bits per byte.
    synchsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    frame = b"PRIV" + struct.pack(">I", size - 10 - 10) + b"\0\0" + b"\0" * (size - 20)
    path.write_bytes(b"ID3\x04\x00\x00" + synchsafe + frame + mp3.read_bytes())
    mp3.unlink()
    return Path(path)


def write_silent_hours_wav(path: Path, hours: float = 3.0, sr: int = 100) -> Path:
    """``hours`` of true digital silence (16-bit zeros), honest header, written sparse: 3 h at
    100 Hz is 2 MB on disk and in the upload, but decodes to the full 16 kHz length."""
    data_bytes = int(hours * 3600 * sr) * 2
    with Path(path).open("wb") as f:
        f.write(wav_header(data_bytes, sr=sr, bits=16))
        f.truncate(44 + data_bytes)
    return Path(path)


def square(seconds: float, sr: int = 16000, freq: float = 180.0) -> np.ndarray:
    """A square wave at full scale: every sample clipped."""
    t = np.arange(round(seconds * sr)) / sr
    return np.where(np.sin(2 * np.pi * freq * t) >= 0, 1.0, -1.0).astype(np.float32)


def write_clipped_speech_wav(path: Path, seconds: float = 6.0, gain: float = 20.0) -> Path:
    """Speech-like audio driven 26 dB into hard clipping, as a phone held against a mouth."""
    return write_wav(path, np.clip(speechlike(seconds) * gain, -1.0, 1.0), 16000)


def write_multichannel_hires_wav(
    path: Path, seconds: float = 3.0, sr: int = 192000, channels: int = 8
) -> Path:
    """8 channels at 192 kHz, 24-bit (a field recorder): speech on channel 0, tones elsewhere."""
    voice = speechlike(seconds, sr=16000)
    import soxr

    voice = soxr.resample(voice, 16000, sr).astype(np.float32)[: round(seconds * sr)]
    others = [tone(seconds, sr, 200.0 + 50 * c, amplitude=0.05) for c in range(1, channels)]
    n = min(len(voice), *(len(o) for o in others))
    audio = np.stack([voice[:n], *(o[:n] for o in others)], axis=1)
    return write_wav(path, audio, sr, subtype="PCM_24")


def write_wrong_extension(path: Path, real_suffix: str, seconds: float = 4.0) -> Path:
    """A good recording encoded as ``real_suffix`` but named ``path`` (another extension)."""
    src = write_speechlike_wav(path.with_name(path.stem + ".src.wav"), seconds=seconds)
    encoded = encode_with_ffmpeg(src, path.with_name(path.stem + ".enc" + real_suffix))
    src.unlink()
    encoded.replace(path)
    return Path(path)


def write_truncated_webm(path: Path, keep: float = 0.5) -> Path:
    src = write_speechlike_wav(path.with_name(path.stem + ".src.wav"), seconds=8.0)
    encode_with_ffmpeg(src, path)
    src.unlink()
    return _truncate(path, keep)


# name -> how to write it; the name's extension is the one uploaded.
CORPUS: dict[str, Callable[[Path], Path]] = {
    "empty.wav": lambda p: write_bad_file("empty", p),
    "empty.mp3": lambda p: write_bad_file("empty", p),
    "header_only.wav": lambda p: write_bad_file("header_only_wav", p),
    "wav_claims_4gb.wav": lambda p: write_bad_file("wav_claims_4gb", p),
    "truncated.flac": lambda p: write_bad_file("truncated_flac", p),
    "truncated.mp3": lambda p: write_bad_file("truncated_mp3", p),
    "truncated.webm": write_truncated_webm,
    "html_named.wav": lambda p: write_bad_file("html_as_wav", p),
    "text_named.m4a": lambda p: write_bad_file("text_as_wav", p),
    "mp3_named.wav": lambda p: write_wrong_extension(p, ".mp3"),
    "ogg_named.m4a": lambda p: write_wrong_extension(p, ".ogg"),
    "flac_named.txt": lambda p: write_wrong_extension(p, ".flac"),
    "huge_list_chunk.wav": write_huge_header_wav,
    "huge_id3_tag.mp3": write_huge_id3_mp3,
    "random_bytes.wav": lambda p: write_bad_file("random_bytes", p),
    "random_bytes.bin": lambda p: write_bad_file("random_bytes", p),
    "zero_length_stream.mp4": write_zero_length_stream,
    "zero_length_stream.webm": write_zero_length_stream,
    "video_no_audio.mp4": lambda p: write_bad_file("video_no_audio", p),
    "silence_3h.wav": write_silent_hours_wav,
    "ten_hours.wav": lambda p: write_bad_file("ten_hour_wav", p),
    "too_short.wav": lambda p: write_bad_file("too_short_wav", p),
    "square_full_scale.wav": lambda p: write_wav(p, square(5.0), 16000),
    "clipped_speech.wav": write_clipped_speech_wav,
    "nan_inf_float.wav": write_nasty_float_wav,
    "8ch_192khz.wav": write_multichannel_hires_wav,
}


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every file of ``CORPUS`` into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: Path(write(folder / name)) for name, write in CORPUS.items()}
