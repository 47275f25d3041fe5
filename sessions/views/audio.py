"""Audio is never public media: it streams through this view, after the access check, with HTTP
range support so the browser's player can seek."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from sessions import access, audit
from sessions.models.audit import AuditAction

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def ranged_file_response(
    request: HttpRequest, field_file: FieldFile, content_type: str
) -> HttpResponseBase:
    """Serve a stored file whole or, with a ``Range`` header, one byte range (206)."""
    size = field_file.size
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match.group(1) and not match.group(2)):
        response: HttpResponseBase = FileResponse(field_file.open("rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    start_s, end_s = match.groups()
    if start_s:
        start = int(start_s)
        end = min(int(end_s), size - 1) if end_s else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(size - int(end_s), 0), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response

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


@login_required
@require_GET
def recording_audio(request: HttpRequest, recording_id: str) -> HttpResponseBase:
    recording = access.get_recording_for_user(request.user, recording_id)
    if not recording.file or recording.audio_deleted_at is not None:
        raise Http404("The audio of this recording is no longer kept.")
    # One audit entry per playback start, not per range request of the same playback.
    if not request.headers.get("Range", "").startswith("bytes=") or request.headers.get(
        "Range", ""
    ).startswith("bytes=0-"):
        audit.record(
            actor=request.user,
            action=AuditAction.DOWNLOAD,
            obj=recording,
            child=recording.session.child,
            request=request,
        )
    response = ranged_file_response(
        request, recording.file, recording.content_type or "application/octet-stream"
    )
    response["Cache-Control"] = "private, no-store"
    return response
