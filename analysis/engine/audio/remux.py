"""Rewrite a browser recording's container so players know its length and can seek.

A WebM made by the browser's MediaRecorder is written as a stream: it has no Duration and no
Cues (seek index), so an ``<audio>`` element shows no length and cannot jump ahead. Copying
its packets into a new WebM file (no re-encoding: the sound is bit-for-bit the same) lets the
muxer write both. Plain Python on file paths; PyAV (FFmpeg) does the work.
"""

from __future__ import annotations

from pathlib import Path

# Containers the browser's recorder writes without an index.
STREAMED_FORMATS = ("matroska", "webm")


def needs_index(path: str | Path) -> bool:
    """True for a Matroska/WebM file without a duration (as MediaRecorder writes them)."""
    import av

    try:
        with av.open(str(path)) as container:
            names = set(container.format.name.split(","))
            return bool(names & set(STREAMED_FORMATS)) and container.duration is None
    except (av.error.FFmpegError, OSError):
        return False


def remux_with_index(src: str | Path, dst: str | Path) -> bool:
    """Copy ``src``'s audio packets into a WebM at ``dst`` that has a duration and a seek
    index. False (and nothing usable at ``dst``) when ``src`` has no audio or cannot be read;
    running it twice writes the same file again."""
    import av

    try:
        with av.open(str(src)) as source:
            if not source.streams.audio:
                return False
            stream = source.streams.audio[0]
            if stream.codec_context.name not in ("opus", "vorbis"):
                return False  # WebM holds only these; anything else stays as it came
            with av.open(str(dst), "w", format="webm") as target:
                out = target.add_stream_from_template(stream)
                for packet in source.demux(stream):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = out
                    target.mux(packet)
    except (av.error.FFmpegError, OSError, ValueError):
        return False
    return True
