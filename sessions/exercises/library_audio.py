"""Model recordings of the ready-made exercises: generated speech (espeak-ng), shipped in the
repository as small Ogg Opus files (16 kHz mono, about 20 kbit/s, a few KB each) with a
manifest of their checksum, duration and measured prosody.

The voice is a computer's, and every page and record says so ("generated voice"). Rate and
pitch vary with the target emotion so the example at least moves in the right direction
(brighter and quicker for happy, lower and slower for sad); a therapist's own recording is
better and replaces it through the normal exercise edit (``services.exercise_update``).

``build`` regenerates the files (``manage.py build_library_audio``): the same espeak-ng and
ffmpeg versions give the same bytes (ffmpeg's bit-exact flags, no metadata). Installing reads
the shipped files only; espeak-ng is not needed at run time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sessions.exercises.library import LIBRARY

AUDIO_DIR = Path(__file__).resolve().parent / "library_audio"
MANIFEST = AUDIO_DIR / "manifest.json"
CONTENT_TYPE = "audio/ogg"
# What the data and the pages call it.
VOICE_LABEL = "generated voice"


@dataclass(frozen=True)
class Voice:
    """espeak-ng settings: words per minute, pitch (0-99) and amplitude (0-200)."""

    rate: int
    pitch: int
    amplitude: int = 100


VOICES: dict[str, Voice] = {
    "neutral": Voice(160, 50),
    "calm": Voice(135, 40, 80),
    "happy": Voice(180, 72, 120),
    "sad": Voice(115, 30, 70),
    "angry": Voice(175, 45, 160),
    "fearful": Voice(185, 62, 90),
    "disgust": Voice(140, 35),
    "surprised": Voice(165, 85, 130),
}
ESPEAK_VOICE = "en-us"
OPUS_BITRATE = "20k"


def read_manifest(manifest_path: Path) -> dict[str, dict[str, Any]]:
    """A shipped audio folder's manifest, per key (empty where the folder has none); the
    exercise library's and the starter listening clips' alike."""
    if not manifest_path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(manifest_path.read_text(encoding="utf-8"))
    return data


def shipped_file(audio_dir: Path, entry: dict[str, Any] | None) -> Path | None:
    """The shipped file a manifest entry names, if the entry and the file exist."""
    if entry is None:
        return None
    path = audio_dir / str(entry["file"])
    return path if path.exists() else None


@cache
def manifest() -> dict[str, dict[str, Any]]:
    """Per library key: file name, sha256, size, duration, prosody and how it was made."""
    return read_manifest(MANIFEST)


def path_for(key: str) -> Path | None:
    return shipped_file(AUDIO_DIR, manifest().get(key))


def _tool_version(command: list[str]) -> str:
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def speak(espeak: str, voice: Voice, text: str, wav: Path) -> None:
    """Say ``text`` with espeak-ng in ``voice`` into the WAV file ``wav``."""
    subprocess.run(
        [
            espeak, "-v", ESPEAK_VOICE, "-s", str(voice.rate), "-p", str(voice.pitch),
            "-a", str(voice.amplitude), "-w", str(wav), text,
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def encode_opus(ffmpeg: str, wav: Path, target: Path) -> None:
    """The shipped format: 16 kHz mono Ogg Opus at ``OPUS_BITRATE``, bit-exact and without
    metadata, so the same tools give the same bytes (the exercise library and the starter
    listening clips alike)."""
    subprocess.run(
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
            "-ac", "1", "-ar", "16000", "-c:a", "libopus", "-b:a", OPUS_BITRATE,
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(target),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def build(out_dir: Path = AUDIO_DIR) -> dict[str, dict[str, Any]]:
    """Generate every library exercise's model recording into ``out_dir`` and write the
    manifest there. Needs espeak-ng and ffmpeg; running it twice writes the same files."""
    from analysis.engine import prosody
    from analysis.engine.audio import decode as audio

    espeak = shutil.which("espeak-ng")
    ffmpeg = shutil.which("ffmpeg")
    if espeak is None or ffmpeg is None:
        raise RuntimeError("Building the library recordings needs espeak-ng and ffmpeg.")
    out_dir.mkdir(parents=True, exist_ok=True)
    made_with = f"{_tool_version([espeak, '--version'])}; {_tool_version([ffmpeg, '-version'])}"
    entries: dict[str, dict[str, Any]] = {}
    for item in LIBRARY:
        voice = VOICES[item["target_emotion"]]
        target = out_dir / f"{item['key']}.ogg"
        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "speech.wav"
            speak(espeak, voice, item["phrase"], wav)
            encode_opus(ffmpeg, wav, target)
        samples = audio.decode(target)
        measured = prosody.measure(samples)
        data = target.read_bytes()
        entries[item["key"]] = {
            "file": target.name,
            "phrase": item["phrase"],
            "target_emotion": item["target_emotion"],
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "duration_s": round(samples.size / audio.TARGET_SR, 3),
            "prosody": measured.to_dict(),
            "voice": VOICE_LABEL,
            "made_with": made_with,
            "settings": {
                "espeak_voice": ESPEAK_VOICE,
                "rate_wpm": voice.rate,
                "pitch": voice.pitch,
                "amplitude": voice.amplitude,
                "opus_bitrate": OPUS_BITRATE,
            },
        }
    (out_dir / MANIFEST.name).write_text(
        json.dumps(entries, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    manifest.cache_clear()
    return entries
