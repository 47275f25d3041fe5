"""Right of access: everything the portal holds about one child, as one zip archive.

Contents (each table as JSON and CSV): the child record, sessions (with the therapist's session
notes: a right-of-access request covers the notes kept about the child, so they are included),
recordings (metadata), analysis summaries and segments of each recording's newest finished
analysis, consents (with the text the guardian agreed to), progress reports (every version),
rows other parts of the portal keep about the child (practice exercises and attempts, therapist
corrections, trend markers), and the audio that is still kept. A README explains each file.

The archive is written to a temporary file, never held in memory whole: a year of session audio
can be large.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from sessions import audit
from sessions.families.models import ConsentRecord, ProgressReport
from sessions.models import Child, Recording, TherapySession
from sessions.models.audit import AuditAction
from sessions.types import Actor

# Apps whose rows about a child are exported generically (they may add models at any time).
OTHER_APPS = ("exercises", "workspace", "listening")

README = """\
Everything SER Portal holds about {code}
Exported on {date}.

child.json / child.csv          The child's record.
sessions.json / sessions.csv    Therapy sessions, including the therapist's session notes.
recordings.json / .csv          Each recording: when it was made, its length, and whether the
                                audio is still kept (audio/ holds the kept files).
analysis.json                   For each recording, the summary of the newest automatic emotion
                                analysis and the model version that made it.
segments.csv                    The analysed speech segments: who spoke (child, therapist,
                                other), from when to when, and the estimated emotion with its
                                probabilities.
consents.json / consents.csv    Each consent given or revoked, with the exact text agreed to.
reports.json / reports.csv      Progress reports, every version, released or draft.
voice_print.json / .csv         The voice print learnt from the child's practice tries (a list of
                                numbers describing the voice, never audio), if there is one.
other/                          Other rows kept about the child (practice exercises, their
                                attempts, listening sets and answers, therapist corrections of
                                the analysis, chart markers).
audio/                          Audio recordings that are still kept (older audio may have been
                                deleted under the clinic's retention rule).

Emotion estimates are produced by a computer model. They support, and never replace, clinical
judgement.
"""


def _plain(value: Any) -> Any:
    """A JSON-ready form of a model value."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    return value


def _row(instance: models.Model) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        key = field.attname
        row[key] = _plain(getattr(instance, key))
    return row


def _csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    writer = csv.DictWriter(buffer, fieldnames=columns or ["empty"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return buffer.getvalue().encode("utf-8")


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_plain).encode("utf-8")


@dataclass
class ExportArchive:
    filename: str
    file: IO[bytes]
    size: int
    counts: dict[str, int]


class _Writer:
    def __init__(self, handle: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED)

    def table(self, name: str, rows: Sequence[Mapping[str, Any]], *, csv_too: bool = True) -> None:
        self.zip.writestr(f"{name}.json", _json_bytes(list(rows)))
        if csv_too:
            self.zip.writestr(f"{name}.csv", _csv_bytes(rows))

    def file(self, arcname: str, field_file: Any) -> bool:
        try:
            source = field_file.open("rb")
        except (FileNotFoundError, OSError):
            return False
        with (
            source,
            self.zip.open(zipfile.ZipInfo(arcname, _zip_time()), "w", force_zip64=True) as target,
        ):
            shutil.copyfileobj(source, target, 1 << 20)
        return True


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def _child_rows(child: Child) -> list[dict[str, Any]]:
    return [
        {
            "code": child.code,
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth.isoformat(),
            "clinic": child.clinic.name,
            "therapists": "; ".join(str(t) for t in child.therapists.all()),
            "registered_at": child.created_at.isoformat(),
        }
    ]


def _session_rows(sessions: Iterable[TherapySession]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(s.pk),
            "date": s.date.isoformat(),
            "kind": s.get_kind_display(),
            "title": s.title,
            "therapist": str(s.therapist),
            "notes": s.notes,
        }
        for s in sessions
    ]


def _audio_name(recording: Recording) -> str:
    suffix = PurePosixPath(recording.file.name or "").suffix[:10]
    return f"audio/{recording.session.date:%Y-%m-%d}_{recording.pk}{suffix}"


def _analysis(recordings: list[Recording]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from analysis.models import AnalysisRun, RunStatus

    summaries: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    for recording in recordings:
        run = (
            AnalysisRun.objects.filter(recording=recording, status=RunStatus.DONE)
            .select_related("model_version")
            .order_by("-finished_at")
            .first()
        )
        if run is None:
            continue
        summaries.append(
            {
                "recording": str(recording.pk),
                "session_date": recording.session.date.isoformat(),
                "model": f"{run.model_version.name} {run.model_version.version}",
                "analysed_at": _plain(run.finished_at),
                "summary": run.summary,
            }
        )
        for seg in run.segments.order_by("index"):
            row = {
                "recording": str(recording.pk),
                "index": seg.index,
                "start_s": seg.start_s,
                "end_s": seg.end_s,
                "speaker": seg.speaker,
                "emotion": seg.emotion,
                "confidence": round(seg.confidence, 4),
                "uncertain": seg.uncertain,
                "valence": round(seg.valence, 4),
                "arousal": round(seg.arousal, 4),
            }
            row.update({f"p_{k}": round(float(v), 4) for k, v in seg.probabilities.items()})
            segments.append(row)
    return summaries, segments


def _consent_rows(child: Child) -> list[dict[str, Any]]:
    return [
        {
            "purpose": r.get_purpose_display(),
            "given_by": r.given_by,
            "recorded_at": r.recorded_at.isoformat(),
            "recorded_by": str(r.recorded_by or ""),
            "text_version": r.text.version,
            "text": r.text.body,
            "revoked_at": _plain(r.revoked_at) or "",
            "revoked_by": str(r.revoked_by or ""),
        }
        for r in ConsentRecord.objects.filter(child=child)
        .select_related("text", "recorded_by", "revoked_by")
        .order_by("purpose", "recorded_at")
    ]


def _report_rows(child: Child) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r.pk),
            "title": r.title,
            "version": r.version,
            "status": r.get_status_display(),
            "period_start": r.period_start.isoformat(),
            "period_end": r.period_end.isoformat(),
            "comments": r.comments,
            "released_at": _plain(r.released_at) or "",
            "summary": r.summary,
        }
        for r in ProgressReport.objects.filter(child=child).order_by("period_end", "version")
    ]


_PATHS: dict[str, str] = {
    "therapy_sessions.child": "",
    "therapy_sessions.therapysession": "__child",
    "therapy_sessions.recording": "__session__child",
    "analysis.analysisrun": "__recording__session__child",
    "analysis.segment": "__run__recording__session__child",
}


def _voice_print_rows(child: Child) -> list[dict[str, Any]]:
    """The child's voice print learnt from practice (analysis.voices), the print included."""
    from analysis.models import ChildVoicePrint

    return [_row(p) for p in ChildVoicePrint.objects.filter(child=child)]


def _other_rows(child: Child) -> dict[str, tuple[type[models.Model], list[models.Model]]]:
    """Rows of other apps that point (directly or through a session, recording or analysis) at
    the child, per model label."""
    found: dict[str, tuple[type[models.Model], list[models.Model]]] = {}
    for label in OTHER_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models():
            query = Q()
            for field in model._meta.concrete_fields:
                target = getattr(field, "related_model", None)
                if target is None or not isinstance(field, models.ForeignKey):
                    continue
                path = _PATHS.get(target._meta.label_lower)
                if path is not None:
                    query |= Q(**{f"{field.name}{path}": child})
            if query:
                rows = list(model._default_manager.filter(query).distinct())
                if rows:
                    found[model._meta.label_lower] = (model, rows)
    return found


def child_export_archive(
    *, child: Child, actor: Actor | None, request: HttpRequest | None = None
) -> ExportArchive:
    """Write the child's archive to a temporary file and audit the export (EXPORT, counts only).

    Changes nothing but the audit log; each call writes a fresh archive.
    """
    sessions = list(
        TherapySession.objects.filter(child=child)
        .select_related("therapist")
        .order_by("date", "created_at")
    )
    recordings = list(
        Recording.objects.filter(session__child=child)
        .select_related("session")
        .order_by("session__date", "created_at")
    )
    handle: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response
    writer = _Writer(handle)
    writer.zip.writestr(
        "README.txt", README.format(code=child.code, date=timezone.localdate().isoformat())
    )
    writer.table("child", _child_rows(child))
    writer.table("sessions", _session_rows(sessions))
    audio_files = 0
    recording_rows = []
    for recording in recordings:
        kept = bool(recording.file) and recording.audio_deleted_at is None
        arcname = _audio_name(recording) if kept else ""
        if kept and writer.file(arcname, recording.file):
            audio_files += 1
        else:
            arcname = ""
        recording_rows.append(
            {
                "id": str(recording.pk),
                "session_date": recording.session.date.isoformat(),
                "original_name": recording.original_name,
                "uploaded_at": _plain(recording.created_at),
                "duration_s": recording.duration_s,
                "size_bytes": recording.size_bytes,
                "sha256": recording.sha256,
                "status": recording.get_status_display(),
                "audio_kept": bool(arcname),
                "audio_file": arcname,
                "audio_deleted_at": _plain(recording.audio_deleted_at) or "",
            }
        )
    writer.table("recordings", recording_rows)
    summaries, segments = _analysis(recordings)
    writer.zip.writestr("analysis.json", _json_bytes(summaries))
    writer.zip.writestr("segments.csv", _csv_bytes(segments))
    consents = _consent_rows(child)
    writer.table("consents", consents)
    reports = _report_rows(child)
    writer.table("reports", reports)
    voice_print = _voice_print_rows(child)
    writer.table("voice_print", voice_print)
    other_count = 0
    for label, (model, rows) in _other_rows(child).items():
        name = label.replace(".", "_")
        writer.table(f"other/{name}", [_row(r) for r in rows])
        other_count += len(rows)
        for instance in rows:
            for field in model._meta.concrete_fields:
                value = getattr(instance, field.attname)
                if isinstance(field, models.FileField) and value:
                    suffix = PurePosixPath(value.name).suffix[:10]
                    if writer.file(f"audio/{name}/{instance.pk}_{field.name}{suffix}", value):
                        audio_files += 1
    writer.zip.close()
    size = handle.tell()
    handle.seek(0)
    counts = {
        "sessions": len(sessions),
        "recordings": len(recordings),
        "audio_files": audio_files,
        "segments": len(segments),
        "consents": len(consents),
        "reports": len(reports),
        "voice_prints": len(voice_print),
        "other_rows": other_count,
    }
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="child_archive",
        object_id=child.pk,
        child=child,
        request=request,
        detail=counts,
    )
    filename = f"{child.code}-data-{timezone.localdate():%Y-%m-%d}.zip"
    return ExportArchive(filename=filename, file=handle, size=size, counts=counts)
