"""Resumable (chunked) uploads of session recordings: what is accepted before any byte arrives,
appending chunks (to a file on this machine, or as parts in object storage), finalizing a complete
upload into a Recording through ``analysis.services.recording_create``, cancelling, and the
periodic cleanup. Each service validates, writes, and records the audit entry.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from analysis.services import RecordingRejected
from sessions import audit
from sessions.exercises.services import capture_settings
from sessions.families.consent import ConsentMissing, has_consent
from sessions.models import TherapySession
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in
from sessions.workspace.models import ChunkedUpload, UploadStatus
from sessions.workspace.waveforms import queue_waveform

logger = logging.getLogger(__name__)

# What the picker offers and the server accepts before looking inside; the real check (probe
# and trial decode) happens in analysis.services.recording_create once the file is complete.
ACCEPTED_EXTENSIONS = (
    ".wav",
    ".mp3",
    ".m4a",
    ".aac",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".webm",
    ".mp4",
    ".mov",
    ".m4v",
    ".mkv",
    ".3gp",
    ".aif",
    ".aiff",
    ".caf",
    ".wma",
)
MAX_CHUNK_BYTES = 16 * 1024 * 1024
CHUNK_BYTES = 8 * 1024 * 1024
MAX_ACTIVE_UPLOADS_PER_USER = 5
# A finalization that has not finished in this time crashed; it may be claimed again.
FINALIZE_STALE_S = 15 * 60
# Files up to this size are checked within the "complete" request; larger ones by a task.
SYNC_FINALIZE_MAX_BYTES = 64 * 1024 * 1024
# Starts of files that are certainly not recordings (a web page, a PDF, an archive, a picture).
_NOT_MEDIA_MAGIC = (
    b"%PDF",
    b"PK\x03\x04",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"<!DOCTYPE",
    b"<html",
    b"<?xml",
    b'{"',
    b"\x7fELF",
    b"MZ",
)


class Readable(Protocol):
    """Anything with ``read(n)``: a request body stream, a file."""

    def read(self, size: int = ..., /) -> bytes: ...


class UploadStorageUnavailable(Exception):
    """The media storage could not be read or written just now (object storage unreachable):
    nothing was lost, the same request may simply be made again."""


def upload_dir(upload_id: UUID | str) -> Path:
    """The local folder of an upload whose bytes stay on this machine (local media)."""
    return Path(settings.MEDIA_ROOT) / "uploads" / str(upload_id)


def upload_data_path(upload_id: UUID | str) -> Path:
    return upload_dir(upload_id) / "data"


def upload_prefix(upload_id: UUID | str) -> str:
    """The storage folder of an upload whose chunks are objects (object storage)."""
    return f"uploads/{upload_id}"


def parts_go_to_storage() -> bool:
    """Whether new uploads keep their chunks as objects in the default storage: when that
    storage has no local path (S3 and the like), so the bytes are where every web machine and
    worker can reach them. Local media keeps one file on this machine's disk, as always."""
    try:
        default_storage.path("uploads")
    except NotImplementedError:
        return True
    return False


def _temp_dir() -> str | None:
    return getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)


def _stored_names(upload_id: UUID | str) -> list[str]:
    try:
        _, files = default_storage.listdir(upload_prefix(upload_id))
    except FileNotFoundError:
        return []
    return [f"{upload_prefix(upload_id)}/{name}" for name in files]


def _remove_upload_dir(upload_id: UUID | str, in_storage: bool = False) -> None:
    """Delete an upload's bytes: its local folder and, for chunks kept in the storage, every
    object under its prefix (parts of chunks that were stored but never accepted included).
    Runs after commit: an unreachable storage is logged, and the periodic cleanup deletes the
    leftovers later."""
    shutil.rmtree(upload_dir(upload_id), ignore_errors=True)
    if not in_storage:
        return
    try:
        for name in _stored_names(upload_id):
            default_storage.delete(name)
    except Exception:  # boto3 raises its own types when the endpoint is unreachable
        logger.warning("upload %s: could not delete its parts yet", upload_id, exc_info=True)


def _readable_size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GB"
    return f"{n / 1024**2:.0f} MB"


@transaction.atomic
def upload_create(
    *,
    session: TherapySession,
    filename: str,
    size_bytes: int,
    content_type: str,
    created_by: Actor | None,
    capture: Any = None,
    request: HttpRequest | None = None,
) -> ChunkedUpload:
    """Start a resumable upload to ``session``: checks what can be checked before any byte is
    sent (recording consent, size, file type) and creates the empty upload. Each call starts a
    new upload; the client resumes an old one by its id instead of calling this again.
    ``capture`` is what the browser reported about a recording made in the page (cleaned by
    ``sessions.exercises.services.capture_settings``, the one rule for it)."""
    name = Path(filename or "").name.strip()[:255]
    if not name:
        raise RecordingRejected("The file has no name.", "no_name")
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED_EXTENSIONS:
        raise RecordingRejected(
            f"“{name}” is not a recording the portal can analyse. Accepted formats: "
            + ", ".join(e.lstrip(".").upper() for e in ACCEPTED_EXTENSIONS[:11])
            + ".",
            "unsupported_format",
        )
    if size_bytes <= 0:
        raise RecordingRejected(f"“{name}” is empty.", "empty")
    if size_bytes > settings.SER_MAX_UPLOAD_BYTES:
        raise RecordingRejected(
            f"“{name}” is {_readable_size(size_bytes)}; the largest file the portal accepts is "
            f"{_readable_size(settings.SER_MAX_UPLOAD_BYTES)}. Trim the recording or export the "
            "audio only.",
            "too_large",
        )
    if not has_consent(session.child, "recording"):
        raise RecordingRejected(str(ConsentMissing("recording")), "consent_missing", status=403)
    owner = signed_in(created_by)
    active = ChunkedUpload.objects.filter(created_by=owner, status=UploadStatus.UPLOADING).count()
    if active >= MAX_ACTIVE_UPLOADS_PER_USER:
        raise RecordingRejected(
            "You have several unfinished uploads. Finish or cancel one before starting another.",
            status=409,
        )
    upload = ChunkedUpload.objects.create(
        session=session,
        created_by=owner,
        filename=name,
        content_type=(content_type or "")[:100],
        size_bytes=size_bytes,
        capture=capture_settings(capture),
        parts_in_storage=parts_go_to_storage(),
    )
    if not upload.parts_in_storage:
        folder = upload_dir(upload.pk)
        folder.mkdir(parents=True, exist_ok=True)
        upload_data_path(upload.pk).touch()
    audit.record(
        actor=created_by,
        action=AuditAction.CREATE,
        obj=upload,
        child=session.child,
        request=request,
        detail={"size_bytes": size_bytes},
    )
    return upload


def _looks_like_media(head: bytes) -> bool:
    if any(head.startswith(magic) for magic in _NOT_MEDIA_MAGIC):
        return False
    sample = head[:512]
    if not sample:
        return True
    # Plain text (CSV, notes, HTML without a doctype) is printable ASCII from the first byte.
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    return printable / len(sample) < 0.95


def _fail_upload(upload: ChunkedUpload, message: str) -> None:
    ChunkedUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.FAILED, error=message[:500], updated_at=timezone.now()
    )
    upload.status, upload.error = UploadStatus.FAILED, message[:500]
    transaction.on_commit(partial(_remove_upload_dir, upload.pk, upload.parts_in_storage))


def upload_append(*, upload: ChunkedUpload, offset: int, stream: Readable, length: int) -> int:
    """Append one chunk that starts at byte ``offset`` and return the new offset.

    The body is first written to its own temp file (no lock held while the network is slow),
    then appended under a row lock if ``offset`` is still where the upload stands. A chunk sent
    twice (the client never saw the answer) is refused with the current offset, so the client
    simply continues from there: nothing is written twice. With chunks kept in the storage the
    chunk is stored as its own object before the lock and listed in ``parts`` under it; a chunk
    that is then refused deletes its object.
    """
    if upload.status != UploadStatus.UPLOADING:
        raise RecordingRejected(
            _not_uploading_message(upload), status=409, offset=upload.received_bytes
        )
    if length <= 0:
        raise RecordingRejected("The chunk is empty.", offset=upload.received_bytes)
    if length > MAX_CHUNK_BYTES:
        raise RecordingRejected(
            f"Chunks may be at most {MAX_CHUNK_BYTES // 1024**2} MB.",
            status=413,
            offset=upload.received_bytes,
        )
    if offset != upload.received_bytes:
        raise RecordingRejected(
            "The upload continues from another point.", status=409, offset=upload.received_bytes
        )
    if offset + length > upload.size_bytes:
        raise RecordingRejected(
            "The chunk goes past the end of the file that was announced.",
            offset=upload.received_bytes,
        )
    if upload.parts_in_storage:
        return _append_part(upload=upload, offset=offset, stream=stream, length=length)
    folder = upload_dir(upload.pk)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"chunk-{offset}-{uuid.uuid4().hex}.part"
    try:
        with part.open("wb") as out:
            received = _receive(stream, out, length)
        if received != length:
            raise RecordingRejected(
                "The connection dropped during this chunk; send it again.",
                offset=upload.received_bytes,
            )
        with transaction.atomic():
            locked = _lock_at(upload, offset)
            if offset == 0 and not _looks_like_media(part.read_bytes()[:4096]):
                _fail_upload(locked, _not_media_message(locked))
                upload.status, upload.error = locked.status, locked.error
                return locked.received_bytes
            data = upload_data_path(upload.pk)
            with data.open("r+b" if data.exists() else "wb") as out, part.open("rb") as src:
                out.seek(offset)
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.truncate(offset + length)
                out.flush()
            new_offset = offset + length
            ChunkedUpload.objects.filter(pk=upload.pk).update(
                received_bytes=new_offset, updated_at=timezone.now()
            )
            upload.received_bytes = new_offset
            return new_offset
    finally:
        part.unlink(missing_ok=True)


def _lock_at(upload: ChunkedUpload, offset: int) -> ChunkedUpload:
    """The upload's row, locked (inside the caller's transaction), if a chunk at ``offset``
    may be appended now: still uploading, and ``offset`` is where it stands. Raises 409
    otherwise, with the offset to continue from."""
    locked = ChunkedUpload.objects.select_for_update().get(pk=upload.pk)
    if locked.status != UploadStatus.UPLOADING:
        raise RecordingRejected(
            _not_uploading_message(locked), status=409, offset=locked.received_bytes
        )
    if locked.received_bytes != offset:
        raise RecordingRejected(
            "The upload continues from another point.", status=409, offset=locked.received_bytes
        )
    return locked


def _receive(stream: Readable, out: Any, length: int) -> int:
    received = 0
    while received < length:
        block = stream.read(min(1024 * 1024, length - received))
        if not block:
            break
        out.write(block)
        received += len(block)
    return received


def _not_media_message(upload: ChunkedUpload) -> str:
    return (
        f"“{upload.filename}” does not look like an audio or video recording "
        "(it looks like a document or a web page). Choose the recording file itself."
    )


def _append_part(*, upload: ChunkedUpload, offset: int, stream: Readable, length: int) -> int:
    """``upload_append`` for chunks kept in the storage: the chunk becomes the object
    ``uploads/<id>/<offset>-<length>-<token>`` (a token, so two requests racing with the same
    chunk never write the same object) and is listed in ``parts`` under the row lock."""
    name = ""
    accepted = False
    with tempfile.TemporaryFile(dir=_temp_dir()) as body:
        try:
            if _receive(stream, body, length) != length:
                raise RecordingRejected(
                    "The connection dropped during this chunk; send it again.",
                    offset=upload.received_bytes,
                )
            body.seek(0)
            media = offset != 0 or _looks_like_media(body.read(4096))
            if media:
                wanted = f"{upload_prefix(upload.pk)}/{offset}-{length}-{uuid.uuid4().hex[:12]}"
                try:
                    name = default_storage.save(wanted, File(body, name=wanted))
                except Exception as exc:  # boto3's own types when the storage is unreachable
                    logger.warning("upload %s: could not store a chunk", upload.pk, exc_info=True)
                    raise RecordingRejected(
                        "The server could not store this chunk just now; send it again.",
                        "storage_unavailable",
                        status=503,
                        offset=upload.received_bytes,
                    ) from exc
            with transaction.atomic():
                locked = _lock_at(upload, offset)
                if not media:
                    _fail_upload(locked, _not_media_message(locked))
                    upload.status, upload.error = locked.status, locked.error
                    return locked.received_bytes
                new_offset = offset + length
                parts = [*locked.parts, [offset, length, name]]
                ChunkedUpload.objects.filter(pk=upload.pk).update(
                    received_bytes=new_offset, parts=parts, updated_at=timezone.now()
                )
                upload.received_bytes, upload.parts = new_offset, parts
                accepted = True
                return new_offset
        finally:
            if name and not accepted:
                try:
                    default_storage.delete(name)
                except Exception:  # the periodic cleanup deletes it later
                    logger.warning("upload %s: could not delete a refused chunk", upload.pk)


def _not_uploading_message(upload: ChunkedUpload) -> str:
    if upload.status == UploadStatus.FAILED:
        return upload.error or "This upload was rejected."
    if upload.status in (UploadStatus.CANCELLED, UploadStatus.EXPIRED):
        return "This upload was cancelled or expired. Start the upload again."
    return "This upload is already complete."


def upload_claim_finalize(*, upload: ChunkedUpload) -> bool:
    """Mark a fully received upload as being finalized (conditional UPDATE: only one caller
    wins). A finalization that has been running longer than ``FINALIZE_STALE_S`` crashed and
    may be claimed again."""
    if upload.received_bytes < upload.size_bytes and upload.status == UploadStatus.UPLOADING:
        raise RecordingRejected(
            f"The upload is not finished yet: {upload.received_bytes} of {upload.size_bytes} "
            "bytes arrived.",
            status=409,
            offset=upload.received_bytes,
        )
    now = timezone.now()
    claimed = ChunkedUpload.objects.filter(
        Q(status=UploadStatus.UPLOADING, received_bytes=upload.size_bytes)
        | Q(
            status=UploadStatus.FINALIZING,
            finalize_started_at__lt=now - timedelta(seconds=FINALIZE_STALE_S),
        ),
        pk=upload.pk,
    ).update(status=UploadStatus.FINALIZING, finalize_started_at=now, updated_at=now)
    upload.refresh_from_db()
    return bool(claimed)


class _AssembledFile(UploadedFile):
    """The assembled upload, handed to recording_create like Django's own temporary upload
    (``temporary_file_path``), so it is probed in place rather than copied first."""

    def __init__(self, path: Path, name: str, content_type: str, size: int) -> None:
        super().__init__(file=path.open("rb"), name=name, content_type=content_type, size=size)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)


def upload_finalize(*, upload_id: UUID | str, request: HttpRequest | None = None) -> ChunkedUpload:
    """Turn a claimed (``finalizing``) upload into a Recording via
    ``analysis.services.recording_create``, which validates the file and queues its analysis.

    Rejected files (RecordingRejected, ConsentMissing) end ``failed`` with the readable reason.
    The recording and the upload's ``complete`` status commit together, so running this twice
    (a redelivered task, two "complete" calls) creates one recording. An unexpected error rolls
    the attempt back, keeps the bytes and releases the claim (``upload_release_claim``), so the
    upload is neither stuck in ``finalizing`` nor lost: "complete" (or the task's retry) claims
    it again, and it may be cancelled.
    """
    try:
        return _finalize_claimed(upload_id=upload_id, request=request)
    except Exception:
        logger.exception("upload %s: finalization failed", upload_id)
        upload_release_claim(upload_id=upload_id)
        raise


def upload_release_claim(*, upload_id: UUID | str) -> bool:
    """Give a ``finalizing`` claim back after a finalization failed unexpectedly: the upload is
    again fully received and ``uploading``, so it can be completed (or cancelled) again. Returns
    whether a claim was released; running it twice releases nothing more."""
    released = ChunkedUpload.objects.filter(pk=upload_id, status=UploadStatus.FINALIZING).update(
        status=UploadStatus.UPLOADING, finalize_started_at=None, updated_at=timezone.now()
    )
    return bool(released)


def _copy_counted(src: Any, out: Any) -> int:
    copied = 0
    while block := src.read(1024 * 1024):
        out.write(block)
        copied += len(block)
    return copied


def _assemble_parts(upload: ChunkedUpload) -> Path | None:
    """Stream an upload's parts, in order, from the storage into a local temp file of the
    machine that finalizes (outside MEDIA_ROOT), to be checked and stored like a file that came
    in one piece. None when a part is missing or the parts do not cover the file exactly;
    UploadStorageUnavailable when the storage cannot be read just now."""
    parts = sorted(upload.parts, key=lambda part: int(part[0]))
    position = 0
    for offset, length, _ in parts:
        if int(offset) != position:
            return None
        position += int(length)
    if position != upload.size_bytes:
        return None
    handle, temp_name = tempfile.mkstemp(prefix=f"upload-{upload.pk}-", dir=_temp_dir())
    path = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for _, length, name in parts:
                with default_storage.open(name, "rb") as src:
                    if _copy_counted(src, out) != int(length):
                        path.unlink(missing_ok=True)
                        return None
    except FileNotFoundError:
        path.unlink(missing_ok=True)
        return None
    except Exception as exc:  # boto3's own types when the storage is unreachable
        path.unlink(missing_ok=True)
        raise UploadStorageUnavailable(f"upload {upload.pk}: parts unreadable") from exc
    return path


def _finalize_claimed(*, upload_id: UUID | str, request: HttpRequest | None) -> ChunkedUpload:
    from analysis.services import recording_create

    # Chunks kept in the storage are fetched before the row lock is taken (they cannot change
    # while the upload is being finalized), so the lock is held only for the checks.
    pending = ChunkedUpload.objects.filter(pk=upload_id).first()
    fetched_parts: list[Any] | None = None
    assembled: Path | None = None
    if pending and pending.parts_in_storage and pending.status == UploadStatus.FINALIZING:
        fetched_parts, assembled = pending.parts, _assemble_parts(pending)
    try:
        with transaction.atomic():
            upload = (
                ChunkedUpload.objects.select_for_update(of=("self",))
                .select_related("session__child__clinic", "created_by")
                .get(pk=upload_id)
            )
            if upload.status != UploadStatus.FINALIZING:
                return upload
            if upload.parts_in_storage and fetched_parts != upload.parts:
                if assembled is not None:
                    assembled.unlink(missing_ok=True)
                assembled = _assemble_parts(upload)
            data = assembled if upload.parts_in_storage else upload_data_path(upload.pk)
            if data is None or not data.exists() or data.stat().st_size != upload.size_bytes:
                _fail_upload(
                    upload, "The uploaded data went missing on the server. Upload the file again."
                )
                logger.error("upload %s: data missing or wrong size", upload.pk)
                return upload
            django_file = _AssembledFile(
                data, upload.filename, upload.content_type, upload.size_bytes
            )
            with django_file:
                try:
                    with transaction.atomic():
                        recording = recording_create(
                            session=upload.session,
                            uploaded_file=django_file,
                            uploaded_by=upload.created_by,
                            request=request,
                        )
                except RecordingRejected as exc:
                    _fail_upload(upload, exc.detail)
                    return upload
                except ConsentMissing as exc:
                    _fail_upload(upload, str(exc))
                    return upload
            ChunkedUpload.objects.filter(pk=upload.pk).update(
                status=UploadStatus.COMPLETE,
                recording=recording,
                error="",
                updated_at=timezone.now(),
            )
            upload.status, upload.recording = UploadStatus.COMPLETE, recording
            transaction.on_commit(partial(_remove_upload_dir, upload.pk, upload.parts_in_storage))
            transaction.on_commit(partial(queue_waveform, recording.pk))
        return upload
    finally:
        if assembled is not None:
            assembled.unlink(missing_ok=True)


def queue_finalize(upload_id: UUID | str) -> bool:
    """Hand a claimed upload's finalization to a worker. When the broker is unreachable the
    claim is given back (the upload stays fully received and ``uploading``) and False is
    returned, so the client can simply complete it again later: nothing is lost."""
    from sessions.workspace.tasks import finalize_upload

    try:
        finalize_upload.apply_async(args=[str(upload_id)], queue=settings.SER_QUEUE_DEFAULT)
    except Exception:  # kombu, amqp and redis raise unrelated types when the broker is down
        logger.warning("could not queue the finalization of upload %s", upload_id)
        upload_release_claim(upload_id=upload_id)
        return False
    return True


@transaction.atomic
def upload_cancel(
    *, upload: ChunkedUpload, actor: Actor | None, request: HttpRequest | None = None
) -> bool:
    """Cancel an unfinished upload (uploading, rejected, or a finalization that crashed long
    ago) and delete its bytes. Returns whether it was cancelled: an upload being checked right
    now, complete, or already cancelled or expired is left as it is (the caller says so), so
    cancelling twice changes nothing."""
    stale = timezone.now() - timedelta(seconds=FINALIZE_STALE_S)
    updated = ChunkedUpload.objects.filter(
        Q(status__in=[UploadStatus.UPLOADING, UploadStatus.FAILED])
        | Q(status=UploadStatus.FINALIZING, finalize_started_at__lt=stale),
        pk=upload.pk,
    ).update(status=UploadStatus.CANCELLED, updated_at=timezone.now())
    upload.refresh_from_db(fields=["status", "updated_at"])
    if updated:
        transaction.on_commit(partial(_remove_upload_dir, upload.pk, upload.parts_in_storage))
        audit.record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=upload,
            child=upload.session.child,
            request=request,
        )
    return bool(updated)


def _remove_storage_leftovers(live: set[str], now: datetime) -> int:
    """Delete the storage folders ``uploads/<id>/`` of finished, failed or unknown uploads
    (iterating the storage prefix, as no local folder exists for them). A folder with an
    object younger than an hour is left: its upload's row may not be committed yet."""
    removed = 0
    try:
        folders, _ = default_storage.listdir("uploads")
        for folder in folders:
            if folder in live:
                continue
            names = _stored_names(folder)
            if any(
                now - default_storage.get_modified_time(name) < timedelta(hours=1) for name in names
            ):
                continue
            for name in names:
                default_storage.delete(name)
            removed += 1
    except Exception:  # an unreachable storage: the next run tries again
        logger.warning("upload cleanup: could not clean the storage", exc_info=True)
    return removed


def uploads_cleanup(*, max_idle: timedelta | None = None) -> dict[str, int]:
    """Expire uploads nobody has added to for ``max_idle`` (default
    ``WORKSPACE_UPLOAD_IDLE_HOURS``) and delete their bytes; delete leftover folders of
    finished, failed or unknown uploads (on this machine's disk and, with object storage, under
    the storage's ``uploads/`` prefix); re-queue finalizations that crashed. Safe to repeat."""
    idle = max_idle or timedelta(hours=getattr(settings, "WORKSPACE_UPLOAD_IDLE_HOURS", 24))
    now = timezone.now()
    expired = list(
        ChunkedUpload.objects.filter(
            status=UploadStatus.UPLOADING, updated_at__lt=now - idle
        ).values_list("pk", "parts_in_storage")
    )
    expired_ids = [upload_id for upload_id, _ in expired]
    ChunkedUpload.objects.filter(pk__in=expired_ids, status=UploadStatus.UPLOADING).update(
        status=UploadStatus.EXPIRED, updated_at=now
    )
    for upload_id, in_storage in expired:
        _remove_upload_dir(upload_id, in_storage)
    removed = 0
    root = Path(settings.MEDIA_ROOT) / "uploads"
    live = {
        str(pk)
        for pk in ChunkedUpload.objects.filter(
            status__in=[UploadStatus.UPLOADING, UploadStatus.FINALIZING]
        ).values_list("pk", flat=True)
    }
    if parts_go_to_storage():
        removed += _remove_storage_leftovers(live, now)
    if root.is_dir():
        for folder in root.iterdir():
            # Young folders may belong to an upload whose row is not committed yet.
            young = now.timestamp() - folder.stat().st_mtime < 3600
            if folder.is_dir() and folder.name not in live and not young:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    stale = list(
        ChunkedUpload.objects.filter(
            status=UploadStatus.FINALIZING,
            finalize_started_at__lt=now - timedelta(seconds=FINALIZE_STALE_S),
        ).values_list("pk", flat=True)
    )
    for upload_id in stale:
        upload = ChunkedUpload.objects.get(pk=upload_id)
        if upload_claim_finalize(upload=upload):
            queue_finalize(upload_id)
    return {"expired": len(expired_ids), "folders_removed": removed, "requeued": len(stale)}
