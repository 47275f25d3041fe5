"""Audio is never public media: it streams through this view, after the access check, with HTTP
range support so the browser's player can seek. Every response that carries a child's audio is
audited, whatever range it asks for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from sessions import access, audit

_SPEC = re.compile(r"^(\d*)-(\d*)$")
_CHUNK = 256 * 1024
# Positions longer than this are beyond any file (and int() refuses very long digit strings).
_MAX_DIGITS = 19


class RangeNotSatisfiable(Exception):
    """A ``bytes`` range that is malformed or lies outside the file: the answer is 416."""


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` that a ``Range`` header asks of a file of ``size`` bytes,
    or None for the whole file (no header, a unit other than bytes, or several ranges, which
    RFC 9110 lets a server answer with the whole representation).

    Raises RangeNotSatisfiable for a malformed byte range or one that starts past the end.
    """
    header = header.strip()
    if not header:
        return None
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in ranges.split(",")]
    matches = [_SPEC.match(spec) for spec in specs]
    if any(m is None or m.group(1) == m.group(2) == "" for m in matches):
        raise RangeNotSatisfiable(header)
    if len(matches) > 1:
        return None
    first, last = matches[0].groups()  # type: ignore[union-attr]
    if first:
        start = _position(first)
        end = min(_position(last), size - 1) if last else size - 1
        if last and _position(last) < start:
            raise RangeNotSatisfiable(header)
    else:  # suffix range: the last N bytes
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        start, end = max(size - suffix, 0), size - 1
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, end


def ranged_file_response(
    request: HttpRequest, field_file: FieldFile, content_type: str
) -> HttpResponseBase:
    """Serve a stored file whole (200) or, with a ``Range`` header, one byte range (206); a
    malformed or unsatisfiable byte range answers 416 and sends nothing."""
    size = field_file.size
    try:
        span = byte_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    if span is None:
        response: HttpResponseBase = FileResponse(field_file.open("rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = span

    def chunks() -> Iterator[bytes]:
        with field_file.open("rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                data = handle.read(min(_CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def audited_audio_response(
    request: HttpRequest, *, field_file: FieldFile, content_type: str, obj: Any, child: Any
) -> HttpResponseBase:
    """A child's audio (a recording or a practice attempt), whole or ranged, never cached.

    Every response that carries bytes is audited (deduplicated per person and object by
    ``audit.record_audio_access``); the decision rests on the response, not on the header.
    """
    response = ranged_file_response(request, field_file, content_type)
    if response.status_code in (200, 206):
        audit.record_audio_access(actor=request.user, obj=obj, child=child, request=request)
    response["Cache-Control"] = "private, no-store"
    return response


def clinic_material_response(
    request: HttpRequest, *, field_file: FieldFile, content_type: str
) -> HttpResponseBase:
    """Clinic material that holds no child's data (an exercise's model recording, a listening
    clip), whole or ranged: not audited, and the browser may keep it for an hour, so a child
    replaying it does not fetch it again."""
    response = ranged_file_response(request, field_file, content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def recording_audio(request: HttpRequest, recording_id: str) -> HttpResponseBase:
    recording = access.get_recording_for_user(request.user, recording_id)
    if not recording.file or recording.audio_deleted_at is not None:
        raise Http404("The audio of this recording is no longer kept.")
    return audited_audio_response(
        request,
        field_file=recording.file,
        content_type=recording.content_type or "application/octet-stream",
        obj=recording,
        child=recording.session.child,
    )
