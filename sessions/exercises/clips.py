"""What a practice clip must be, and how one is stored: the size and length limits, the header
probe and trial decode, the child-friendly messages for audio that cannot be used, storage names
and content types, and the duration and seek index a browser WebM lacks. One rule for every
short clip: practice tries and model recordings (``services``, ``attempts``), listening clips
(``sessions.listening.services``) and the voice baseline (``baselines``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.engine.audio import decode as audio
from analysis.engine.audio import remux
from analysis.services import RecordingRejected

# Practice clips are short: anything longer is refused from the header, before decoding.
ATTEMPT_MAX_BYTES = 20 * 1024 * 1024


def attempt_limits() -> audio.AudioLimits:
    return audio.AudioLimits(
        max_bytes=ATTEMPT_MAX_BYTES,
        max_duration_s=float(getattr(settings, "SER_SHORT_CLIP_MAX_S", 60)),
        min_duration_s=0.5,
        decode_timeout_s=30.0,
    )


_TRY_AGAIN = "We couldn't play that recording. Please record it again."
FRIENDLY_AUDIO_ERRORS: dict[str, str] = {
    "empty": "The recording was empty. Press the big button, say the sentence, then press stop.",
    "too_short": "That was very short! Press the button, say the whole sentence, then press stop.",
    "too_long": "That recording is too long: practice clips can be up to a minute. Record just "
    "the sentence and try again.",
    "too_large": "That recording is too long: practice clips can be up to a minute. Record just "
    "the sentence and try again.",
    "not_audio": "That file isn't a sound recording. Please record your voice and try again.",
    "no_audio_track": "That recording has no sound in it. Please record it again.",
    "corrupt": _TRY_AGAIN,
    "truncated": "Only part of the recording arrived. Please record it again.",
    "timeout": _TRY_AGAIN,
}


def friendly_audio_error(exc: audio.AudioError) -> RecordingRejected:
    return RecordingRejected(FRIENDLY_AUDIO_ERRORS.get(exc.code, _TRY_AGAIN), exc.code)


_SUFFIX_FOR_TYPE = {
    "audio/webm": ".webm",
    "video/webm": ".webm",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/flac": ".flac",
}


def clean_content_type(uploaded: Any) -> str:
    """The uploaded file's media type without parameters (``audio/webm;codecs=opus`` ->
    ``audio/webm``); "" when it has none."""
    return (getattr(uploaded, "content_type", "") or "").split(";")[0].strip().lower()[:100]


def storage_name(uploaded: Any, stem: str) -> str:
    """``stem`` with the uploaded file's suffix, or one from its media type (``.bin`` when
    neither says): the name a clip is stored under."""
    suffix = Path(getattr(uploaded, "name", "") or "").suffix.lower()[:10]
    if not suffix or not suffix[1:].isalnum():
        suffix = _SUFFIX_FOR_TYPE.get(clean_content_type(uploaded), ".bin")
    return f"{stem}{suffix}"


def check_clip(path: Path, size: int) -> audio.ProbeResult:
    """Header probe (refuses anything over the limit before decoding) and a trial decode."""
    limits = attempt_limits()
    if size > limits.max_bytes:
        raise RecordingRejected(FRIENDLY_AUDIO_ERRORS["too_long"], "too_large")
    try:
        probe = audio.probe(path, limits)
        audio.trial_decode(path, seconds=1.0)
    except audio.AudioError as exc:
        raise friendly_audio_error(exc) from exc
    return probe


@contextmanager
def with_seek_index(path: Path) -> Iterator[Path]:
    """``path``, or a copy of it with a duration and seek index when it is a browser WebM
    without them (``analysis.engine.audio.remux``: the same packets, so the same sound)."""
    if not remux.needs_index(path):
        yield path
        return
    with tempfile.TemporaryDirectory() as folder:
        fixed = Path(folder) / "indexed.webm"
        yield fixed if remux.remux_with_index(path, fixed) else path
