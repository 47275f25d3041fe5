"""Audio intake: check an uploaded recording cheaply, then decode it to 16 kHz mono float32.

Uploads come from phones, browsers and video cameras, so anything can arrive: renamed HTML
pages, half-copied files, videos without sound, WAV headers that promise gigabytes. Every
problem a therapist can cause is turned into an ``AudioError`` whose ``code`` is stable (for the
UI and tests) and whose message a therapist can act on. The checks are ordered cheapest first:
file size, a text sniff and the WAV header are read before FFmpeg is asked anything, and the
duration limit is enforced from the container header *before* decoding, so a 10-hour file is
refused in milliseconds instead of after minutes of work.

Decoding goes through PyAV (FFmpeg's libraries bundled in the wheel, so production does not
depend on a system ffmpeg) and streams: packets are decoded, converted to float, downmixed and
resampled in blocks with ``soxr.ResampleStream``, so memory stays bounded by the output array
(one 3 h recording at 16 kHz float32 is ~690 MB; callers that cannot afford that should use
``iter_decode`` directly).
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soxr

TARGET_SR = 16000
# Fewer samples than this cannot even fill one wav2vec2 frame (its receptive field is 400).
MIN_SAMPLES = 400
# A sample this close to full scale was almost certainly clipped by the recorder.
CLIP_LEVEL = 0.999

_GIB = 1024**3


@dataclass(frozen=True)
class AudioLimits:
    """What the portal accepts. Defaults suit a therapy session recorded on a phone or laptop."""

    max_bytes: int = 2 * _GIB
    max_duration_s: float = 3 * 3600.0
    min_duration_s: float = 0.5
    # Decoding a 3 h file takes well under two minutes on one core; 15 min means something is
    # pathological (a decoder spinning on garbage), not that the file is merely long.
    decode_timeout_s: float = 900.0


class AudioError(ValueError):
    """A problem with an uploaded recording that the person who uploaded it can act on.

    ``code`` is one of: empty, too_large, not_audio, no_audio_track, corrupt, truncated,
    too_long, too_short, timeout.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"AudioError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class ProbeResult:
    format_name: str
    codec: str
    duration_s: float | None  # None when the container does not say (e.g. browser WebM)
    sample_rate: int
    channels: int
    has_audio: bool
    size_bytes: int


@dataclass
class DecodeStats:
    """Filled in by ``iter_decode``: what the decoder had to repair, for logs and the UI."""

    source_samples: int = 0
    clipped_samples: int = 0
    non_finite_samples: int = 0
    output_samples: int = 0

    @property
    def clipping_ratio(self) -> float:
        return self.clipped_samples / self.source_samples if self.source_samples else 0.0

    @property
    def duration_s(self) -> float:
        return self.output_samples / TARGET_SR


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} h" if hours >= 1 else f"{seconds / 60:g} min"


def _megabytes(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _looks_like_text(head: bytes) -> bool:
    """True for HTML, JSON, CSV or any other text renamed to look like audio.

    Every audio container we accept starts with binary bytes (NULs in RIFF/FLAC/MP4/Ogg
    headers, 0xFF sync words in raw MP3/AAC), so NUL-free valid UTF-8 means text.
    """
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the 1 KiB boundary is still text.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _check_wav_header(path: Path, size: int) -> None:
    """Compare what a RIFF/WAVE header declares with the bytes really on disk.

    FFmpeg trusts the header, so a header claiming 4 GB over a 1 MB file would otherwise show
    up as a 37-hour recording (or make naive readers allocate 4 GB).
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset = 12
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise AudioError("empty", "This WAV file contains no audio data.")
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            offset += 8
            if chunk_id == b"data":
                available = size - offset
                if chunk_size == 0 and available <= 1:
                    raise AudioError("empty", "This WAV file contains no audio data.")
                # One pad byte is allowed; anything more missing means the copy was cut short.
                if chunk_size > available + 1:
                    raise AudioError(
                        "truncated",
                        "The file looks truncated: its header promises "
                        f"{_megabytes(chunk_size)} of audio but only {_megabytes(available)} "
                        "is present. Please upload the complete recording again.",
                    )
                return
            offset += chunk_size + (chunk_size & 1)
            if offset > size:
                raise AudioError("truncated", "The file looks truncated: its header is incomplete.")
            f.seek(offset)


def probe(path: Path | str, limits: AudioLimits | None = None) -> ProbeResult:
    """Read only headers and reject what cannot or must not be analysed. Never decodes audio."""
    limits = limits or AudioLimits()
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise AudioError("empty", "The file is empty.")
    if size > limits.max_bytes:
        raise AudioError(
            "too_large",
            f"The file is {_megabytes(size)}; the limit is {_megabytes(limits.max_bytes)}.",
        )
    with path.open("rb") as f:
        head = f.read(1024)
    if _looks_like_text(head):
        raise AudioError(
            "not_audio", "This file is not an audio recording (it contains text, e.g. a web page)."
        )
    _check_wav_header(path, size)

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise AudioError("not_audio", "This file is not a recording the portal can read.") from exc
    with container:
        if not container.streams.audio:
            if container.streams.video:
                raise AudioError("no_audio_track", "This file has no audio track.")
            raise AudioError("not_audio", "This file is not a recording the portal can read.")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        sample_rate = int(stream.sample_rate or ctx.sample_rate or 0)
        channels = int(ctx.channels or 0)
        if sample_rate <= 0 or channels <= 0:
            raise AudioError("corrupt", "The audio track is damaged (no sample rate or channels).")
        duration_s: float | None = None
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        result = ProbeResult(
            format_name=container.format.name,
            codec=ctx.name,
            duration_s=duration_s,
            sample_rate=sample_rate,
            channels=channels,
            has_audio=True,
            size_bytes=size,
        )
    if duration_s is not None:
        _check_duration(duration_s, limits, sample_rate)
    return result


def _check_duration(duration_s: float, limits: AudioLimits, sample_rate: int) -> None:
    if duration_s > limits.max_duration_s:
        raise AudioError(
            "too_long",
            f"The recording is {_hours(duration_s)} long; the limit is "
            f"{_hours(limits.max_duration_s)}. Please split it into shorter parts.",
        )
    if duration_s < limits.min_duration_s or duration_s * sample_rate < MIN_SAMPLES:
        raise AudioError(
            "too_short",
            f"The recording is too short to analyse ({duration_s:.2f} s; at least "
            f"{limits.min_duration_s:g} s is needed).",
        )


def trial_decode(path: Path | str, seconds: float = 2.0) -> None:
    """Prove the file is decodable before queueing hours of work on it.

    Decodes the first ``seconds`` and, when the header states a duration, also a little just
    before the stated end: a FLAC or MP3 cut short by an interrupted copy decodes fine at the
    start, and only seeking towards the promised end shows the audio is not there.
    """
    path = Path(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("no_audio_track", "This file has no audio track.")
            stream = container.streams.audio[0]
            decoded = 0.0
            for frame in container.decode(stream):
                decoded += frame.samples / max(frame.sample_rate, 1)
                if decoded >= seconds:
                    break
            if decoded <= 0:
                raise AudioError("corrupt", "The audio track could not be decoded.")
            duration_s = None
            if stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration_s = container.duration / av.time_base
            if duration_s is not None and duration_s > decoded + seconds:
                try:
                    _check_end_present(container, stream, duration_s)
                except av.FFmpegError as exc:
                    # The start decoded, so failing near the promised end means missing data.
                    raise AudioError(
                        "truncated",
                        f"The file looks truncated: its header says {duration_s:.0f} s but the "
                        "end of the audio is missing. Please upload the complete recording again.",
                    ) from exc
    except av.FFmpegError as exc:
        raise AudioError("corrupt", "The audio track is damaged and cannot be decoded.") from exc


def _check_end_present(
    container: av.container.InputContainer, stream: av.AudioStream, duration_s: float
) -> None:
    target = max(duration_s - 1.5, 0.0)
    assert stream.time_base is not None
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    last_end = 0.0
    for frame in container.decode(stream):
        if frame.pts is not None and frame.time_base is not None:
            last_end = max(
                last_end, float(frame.pts * frame.time_base) + frame.samples / frame.sample_rate
            )
    # Allow generous slack: seeking lands on a packet boundary and headers round durations.
    if last_end < duration_s - max(3.0, 0.05 * duration_s):
        raise AudioError(
            "truncated",
            f"The file looks truncated: its header says {duration_s:.0f} s but the audio stops "
            f"at about {last_end:.0f} s. Please upload the complete recording again.",
        )


def iter_decode(
    path: Path | str,
    block_s: float = 30.0,
    *,
    limits: AudioLimits | None = None,
    stats: DecodeStats | None = None,
) -> Iterator[np.ndarray]:
    """Yield the recording as 16 kHz mono float32 blocks of about ``block_s`` seconds.

    Non-finite samples become 0 and everything is clipped to [-1, 1] (resampling can overshoot
    full scale). ``stats`` collects how many samples were clipped or repaired. Raises
    ``AudioError`` for damaged data, for recordings whose real length breaks the limits (some
    containers, like browser WebM, carry no duration in the header) and on timeout.
    """
    limits = limits or AudioLimits()
    stats = stats if stats is not None else DecodeStats()
    block_samples = max(int(block_s * TARGET_SR), 1)
    max_samples = int(limits.max_duration_s * TARGET_SR)
    started = time.monotonic()
    pending: list[np.ndarray] = []
    pending_len = 0

    def emit(chunk: np.ndarray) -> Iterator[np.ndarray]:
        nonlocal pending, pending_len
        if chunk.size:
            np.clip(chunk, -1.0, 1.0, out=chunk)
            stats.output_samples += chunk.size
            if stats.output_samples > max_samples:
                raise AudioError(
                    "too_long",
                    f"The recording is longer than the {_hours(limits.max_duration_s)} limit.",
                )
            pending.append(chunk)
            pending_len += chunk.size
        if pending_len >= block_samples:
            # Joined once, however many blocks a chunk completes (a low-rate file's batch,
            # resampled, makes several): not once per block.
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            whole = joined.size - joined.size % block_samples
            for lo in range(0, whole, block_samples):
                yield joined[lo : lo + block_samples]
            rest = joined[whole:]
            pending, pending_len = ([rest], rest.size) if rest.size else ([], 0)

    resampler: soxr.ResampleStream | None = None
    in_rate = 0
    # Decoded frames wait here (packed float, one rate and channel count) until there are
    # _BATCH_SAMPLES of them: a frame is 20 ms of Opus, or a few samples of a low-rate WAV,
    # and downmixing and resampling each on its own cost more in Python than decoding it.
    # Every step after decoding is per sample or a stream, so the output does not change.
    batch: list[np.ndarray] = []
    batch_key = (0, 0)  # (sample rate, channels)
    batch_len = 0

    def flush() -> Iterator[np.ndarray]:
        nonlocal resampler, in_rate, batch, batch_len
        if not batch:
            return
        rate, channels = batch_key
        packed = batch[0] if len(batch) == 1 else np.concatenate(batch)
        batch, batch_len = [], 0
        mono = _sanitize_and_downmix(packed.reshape(-1, channels).T, stats)
        if resampler is None or rate != in_rate:
            if resampler is not None:
                yield from emit(resampler.resample_chunk(_EMPTY, last=True))
            in_rate = rate
            resampler = (
                None
                if rate == TARGET_SR
                else soxr.ResampleStream(rate, TARGET_SR, 1, dtype="float32", quality="HQ")
            )
        out = mono if resampler is None else resampler.resample_chunk(mono)
        yield from emit(np.array(out, dtype=np.float32))

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("no_audio_track", "This file has no audio track.")
            stream = container.streams.audio[0]
            # Float at the source rate and layout: downmix and resampling happen here in
            # numpy/soxr, where NaNs can be removed *before* a filter smears them around.
            # Packed, not planar: PyAV's to_ndarray() of a planar frame with 8 or more channels
            # reads past its plane pointers and kills the process (PyAV 18, seen on 8-channel
            # field recorders).
            to_float = av.AudioResampler(format="flt")
            for packet in container.demux(stream):
                if time.monotonic() - started > limits.decode_timeout_s:
                    raise AudioError(
                        "timeout",
                        "Decoding took too long; the file may be damaged. Please re-export it.",
                    )
                for frame in packet.decode():
                    # Float frames that are packed already (any mono float frame is: Opus,
                    # browser recordings) are read as they are; the others are converted.
                    ready = frame.format.name == "flt" or (
                        frame.format.name == "fltp" and frame.layout.nb_channels == 1
                    )
                    for converted in [frame] if ready else to_float.resample(frame):
                        key = (converted.sample_rate, converted.layout.nb_channels)
                        if key != batch_key:
                            yield from flush()
                            batch_key = key
                        count = converted.samples * key[1]
                        # A copy: the decoder may reuse the frame's memory for the next one.
                        batch.append(
                            np.frombuffer(memoryview(converted.planes[0]), np.float32, count).copy()
                        )
                        batch_len += count
                        if batch_len >= _BATCH_SAMPLES * key[1]:
                            yield from flush()
            yield from flush()
            if resampler is not None:
                yield from emit(resampler.resample_chunk(_EMPTY, last=True))
    except av.FFmpegError as exc:
        yield from flush()  # what was decoded before the damage, as frame by frame did
        if stats.output_samples == 0:
            raise AudioError(
                "corrupt", "The audio track is damaged and cannot be decoded."
            ) from exc
        raise AudioError(
            "truncated",
            f"The audio is damaged after {stats.output_samples / TARGET_SR:.0f} s; the file may "
            "be truncated. Please upload the complete recording again.",
        ) from exc
    if pending_len:
        yield np.concatenate(pending)


_EMPTY = np.zeros(0, dtype=np.float32)
_BATCH_SAMPLES = 1 << 15  # decoded samples per channel downmixed and resampled at a time


def _sanitize_and_downmix(planes: np.ndarray, stats: DecodeStats) -> np.ndarray:
    """(channels, n) float -> (n,) float32 mono, counting what had to be repaired."""
    planes = np.atleast_2d(planes)
    finite = np.isfinite(planes)
    if not finite.all():
        stats.non_finite_samples += int((~finite).any(axis=0).sum())
        planes = np.where(finite, planes, 0.0).astype(np.float32)
    stats.source_samples += planes.shape[1]
    stats.clipped_samples += int((np.abs(planes) >= CLIP_LEVEL).any(axis=0).sum())
    mono = planes.mean(axis=0) if planes.shape[0] > 1 else planes[0]
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def decode(
    path: Path | str, limits: AudioLimits | None = None, *, stats: DecodeStats | None = None
) -> np.ndarray:
    """The whole recording as one 16 kHz mono float32 array (see ``iter_decode``).

    Re-checks the decoded length against the limits, because headers can be missing or lie.
    """
    limits = limits or AudioLimits()
    stats = stats if stats is not None else DecodeStats()
    blocks = list(iter_decode(path, limits=limits, stats=stats))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if audio.size < MIN_SAMPLES or audio.size < limits.min_duration_s * TARGET_SR:
        if audio.size == 0:
            raise AudioError("empty", "The file contains no audio data.")
        _check_duration(audio.size / TARGET_SR, limits, TARGET_SR)
    return audio


def sha256_file(path: Path | str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks so multi-GB uploads never sit in memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
