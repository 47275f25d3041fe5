"""The starter listening clips: generated speech (espeak-ng), shipped as small Ogg Opus files
with a manifest, so a clinic can start listening practice before recording its own clips.

Every page and record calls them "generated voice". The emotion of each clip is the one it was
generated for (rate, pitch and loudness of ``sessions.exercises.library_audio.VOICES``), chosen
by the person who wrote this table, never by a model. Strong clips use those settings; normal
(subtler) ones go halfway back to the neutral voice; noisy ones are the strong clip with seeded
pink noise mixed in (``analysis.engine.audio.conditions``). No RAVDESS (or other corpus) audio
is shipped: its licence does not allow it.

``build`` regenerates them (``manage.py build_listening_audio``); installing reads the shipped
files only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sessions.exercises.library_audio import (
    ESPEAK_VOICE,
    VOICES,
    Voice,
    encode_opus,
    read_manifest,
    shipped_file,
    speak,
)

AUDIO_DIR = Path(__file__).resolve().parent / "starter_audio"
MANIFEST = AUDIO_DIR / "manifest.json"
CONTENT_TYPE = "audio/ogg"
VOICE_LABEL = "generated voice"
NOISE_SNR_DB = 10.0
NOISE_SEED = 16

PHRASES = {
    "park": "We are going to the park now.",
    "box": "There is a box on the table.",
}
EMOTIONS = ("happy", "sad", "angry", "calm")

# key -> (emotion, intensity, phrase key, noisy)
CLIPS: dict[str, tuple[str, str, str, bool]] = {}
for _emotion in EMOTIONS:
    for _phrase in PHRASES:
        CLIPS[f"{_emotion}-{_phrase}-strong"] = (_emotion, "strong", _phrase, False)
        CLIPS[f"{_emotion}-{_phrase}-normal"] = (_emotion, "normal", _phrase, False)
    CLIPS[f"{_emotion}-park-noisy"] = (_emotion, "strong", "park", True)

# key -> (title, choice count, clip keys)
SETS: dict[str, tuple[str, int, list[str]]] = {
    "happy-or-sad": (
        "Happy or sad? (generated voice)",
        2,
        [k for k, v in CLIPS.items() if v[0] in ("happy", "sad") and v[1] == "strong" and not v[3]],
    ),
    "four-feelings": (
        "Four feelings (generated voice)",
        4,
        [k for k, v in CLIPS.items() if v[1] == "strong" and not v[3]],
    ),
    "subtle-voices": (
        "Quieter feelings (generated voice)",
        3,
        [k for k, v in CLIPS.items() if v[1] == "normal"],
    ),
    "noisy-room": (
        "In a noisy room (generated voice)",
        3,
        [k for k, v in CLIPS.items() if v[3]],
    ),
}


def voice_for(emotion: str, intensity: str) -> Voice:
    strong = VOICES[emotion]
    if intensity == "strong":
        return strong
    plain = VOICES["neutral"]
    return Voice(
        (strong.rate + plain.rate) // 2,
        (strong.pitch + plain.pitch) // 2,
        (strong.amplitude + plain.amplitude) // 2,
    )


@cache
def manifest() -> dict[str, dict[str, Any]]:
    """Per clip key: file name, emotion, intensity, words, sha256, size and how it was made."""
    return read_manifest(MANIFEST)


def path_for(key: str) -> Path | None:
    return shipped_file(AUDIO_DIR, manifest().get(key))


def build(out_dir: Path = AUDIO_DIR) -> dict[str, dict[str, Any]]:
    """Generate every starter clip into ``out_dir`` and write the manifest there. Needs
    espeak-ng and ffmpeg; running it twice writes the same files."""
    import soundfile as sf

    from analysis.engine.audio import conditions
    from analysis.engine.audio import decode as audio

    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    if espeak is None or ffmpeg is None:
        raise RuntimeError("Building the starter clips needs espeak-ng and ffmpeg.")
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, Any]] = {}
    for key, (emotion, intensity, phrase_key, noisy) in CLIPS.items():
        voice = voice_for(emotion, intensity)
        target = out_dir / f"{key}.ogg"
        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "speech.wav"
            speak(espeak, voice, PHRASES[phrase_key], wav)
            if noisy:
                clean = audio.decode(wav)
                rng = np.random.default_rng(NOISE_SEED)
                mixed = conditions.mix_at_snr(
                    clean, conditions.coloured_noise(clean.size, rng, 1.0), NOISE_SNR_DB
                )
                peak = float(np.max(np.abs(mixed))) or 1.0
                sf.write(wav, (mixed / max(1.0, peak)).astype(np.float32), audio.TARGET_SR)
            encode_opus(ffmpeg, wav, target)
        samples = audio.decode(target)
        data = target.read_bytes()
        entries[key] = {
            "file": target.name,
            "emotion": emotion,
            "intensity": intensity,
            "words": PHRASES[phrase_key],
            "noise_snr_db": NOISE_SNR_DB if noisy else None,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "duration_s": round(samples.size / audio.TARGET_SR, 3),
            "voice": VOICE_LABEL,
            "settings": {
                "espeak_voice": ESPEAK_VOICE,
                "rate_wpm": voice.rate,
                "pitch": voice.pitch,
                "amplitude": voice.amplitude,
                "noise": f"pink, seed {NOISE_SEED}" if noisy else None,
            },
        }
    MANIFEST_PATH = out_dir / MANIFEST.name
    MANIFEST_PATH.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    manifest.cache_clear()
    return entries
