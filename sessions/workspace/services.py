"""Writes of therapist corrections: ``SegmentEdit`` rows that supersede model segments (which
are never changed), and the stored corrected summary of the run. How edits combine with model
output is plain Python in ``corrections``; uploads, waveforms and timeline traces have their own
modules (``uploads``, ``waveforms``, ``timelines``). Each service validates, writes, and records
the audit entry.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine.emotion.summary import stretches, summarize
from analysis.models import AnalysisRun
from sessions import audit
from sessions.models import Recording
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in
from sessions.workspace import corrections, selectors
from sessions.workspace.corrections import CorrectionError
from sessions.workspace.models import EditOperation, RunCorrectedSummary, SegmentEdit


def _new_edit(
    *,
    run: AnalysisRun,
    batch: uuid.UUID,
    operation: str,
    start_s: float,
    end_s: float,
    speaker: str,
    emotion: str,
    speaker_by_therapist: bool,
    emotion_by_therapist: bool,
    note: str,
    sources: list[str],
    author: Actor | None,
) -> SegmentEdit:
    return SegmentEdit(
        run=run,
        batch=batch,
        operation=operation,
        start_s=start_s,
        end_s=end_s,
        speaker=speaker,
        emotion=emotion,
        speaker_by_therapist=speaker_by_therapist,
        emotion_by_therapist=emotion_by_therapist,
        note=note[:2000],
        source_segment_ids=sources,
        author=signed_in(author),
    )


def _supersede(keys: list[str], batch: uuid.UUID, run: AnalysisRun) -> None:
    edit_ids = [
        k.removeprefix(corrections.EDIT_PREFIX)
        for k in keys
        if k.startswith(corrections.EDIT_PREFIX)
    ]
    if edit_ids:
        SegmentEdit.objects.filter(run=run, pk__in=edit_ids, superseded_at__isnull=True).update(
            superseded_at=timezone.now(), superseded_by_batch=batch
        )


@transaction.atomic
def correction_apply(
    *,
    recording: Recording,
    author: Actor | None,
    action: str,
    segment: str,
    speaker: str | None = None,
    emotion: str | None = None,
    note: str | None = None,
    at_s: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    request: HttpRequest | None = None,
) -> list[dict[str, Any]]:
    """Apply one therapist correction to the recording's shown analysis run and return the new
    effective segments.

    ``action``: ``label`` (speaker and/or emotion and/or note of ``segment``), ``split`` (at
    ``at_s``), ``move`` (``segment``'s boundaries to ``start_s``/``end_s``, either may be left
    out), ``merge`` (``segment`` with the one after it) or ``undo`` (the last correction of
    this run). Model segments are never changed: new ``SegmentEdit`` rows supersede the ones
    they replace. The run row is locked, so two therapists' corrections apply one after the
    other. Repeating a ``label`` with the same values stores a new version with the same labels
    (harmless); repeating ``split``/``merge`` applies them again to the then-current segments.
    """
    run = selectors.shown_run(recording)
    if run is None:
        raise CorrectionError("This recording has no finished analysis to correct yet.")
    AnalysisRun.objects.select_for_update().filter(pk=run.pk).first()
    current = selectors.effective_segments_for_run(run)
    batch = uuid.uuid4()
    detail: dict[str, Any] = {"action": action}
    if action == "label":
        corrections.check_labels(speaker, emotion)
        seg = corrections.find(current, segment)
        new_speaker = speaker or seg["speaker"]
        new_emotion = emotion or seg["emotion"]
        edit = _new_edit(
            run=run,
            batch=batch,
            operation=EditOperation.RELABEL if (speaker or emotion) else EditOperation.NOTE,
            start_s=seg["start_s"],
            end_s=seg["end_s"],
            speaker=new_speaker,
            emotion=new_emotion,
            speaker_by_therapist=bool(speaker) or bool(seg["speaker_corrected"]),
            emotion_by_therapist=bool(emotion) or bool(seg["emotion_by_therapist"]),
            note=seg["note"] if note is None else note.strip(),
            sources=list(seg["source_segment_ids"]),
            author=author,
        )
        _supersede([segment], batch, run)
        edit.save()
        detail.update(
            fields=sorted(
                k
                for k, v in (("speaker", speaker), ("emotion", emotion), ("note", note))
                if v is not None
            )
        )
    elif action == "split":
        seg = corrections.find(current, segment)
        at = corrections.check_split(seg, float(at_s if at_s is not None else float("nan")))
        common = {
            "run": run,
            "batch": batch,
            "operation": EditOperation.SPLIT,
            "speaker": seg["speaker"],
            "emotion": seg["emotion"],
            "speaker_by_therapist": bool(seg["speaker_corrected"]),
            "emotion_by_therapist": bool(seg["emotion_by_therapist"]),
            "sources": list(seg["source_segment_ids"]),
            "author": author,
        }
        first = _new_edit(start_s=seg["start_s"], end_s=at, note=seg["note"], **common)
        second = _new_edit(start_s=at, end_s=seg["end_s"], note="", **common)
        _supersede([segment], batch, run)
        SegmentEdit.objects.bulk_create([first, second])
    elif action == "move":
        seg = corrections.find(current, segment)
        new_start, new_end = corrections.check_move(
            current, segment, start_s, end_s, recording.duration_s
        )
        edit = _new_edit(
            run=run,
            batch=batch,
            operation=EditOperation.MOVE,
            start_s=new_start,
            end_s=new_end,
            speaker=seg["speaker"],
            emotion=seg["emotion"],
            speaker_by_therapist=bool(seg["speaker_corrected"]),
            emotion_by_therapist=bool(seg["emotion_by_therapist"]),
            note=seg["note"],
            sources=list(seg["source_segment_ids"]),
            author=author,
        )
        _supersede([segment], batch, run)
        edit.save()
        detail.update(start_s=new_start, end_s=new_end)
    elif action == "merge":
        seg = corrections.find(current, segment)
        following = corrections.next_segment(current, segment)
        longer = max((seg, following), key=lambda s: s["end_s"] - s["start_s"])
        same_emotion = seg["emotion"] == following["emotion"]
        notes = "\n".join(n for n in (seg["note"], following["note"]) if n)
        sources = list(
            dict.fromkeys([*seg["source_segment_ids"], *following["source_segment_ids"]])
        )
        edit = _new_edit(
            run=run,
            batch=batch,
            operation=EditOperation.MERGE,
            start_s=seg["start_s"],
            end_s=max(seg["end_s"], following["end_s"]),
            speaker=longer["speaker"],
            emotion=longer["emotion"],
            speaker_by_therapist=bool(seg["speaker_corrected"] or following["speaker_corrected"]),
            emotion_by_therapist=bool(
                same_emotion and seg["emotion_by_therapist"] and following["emotion_by_therapist"]
            ),
            note=notes,
            sources=sources,
            author=author,
        )
        _supersede([segment, following["key"]], batch, run)
        edit.save()
    elif action == "undo":
        last = (
            SegmentEdit.objects.filter(run=run, superseded_at__isnull=True)
            .order_by("-created_at")
            .values_list("batch", flat=True)
            .first()
        )
        if last is None:
            raise CorrectionError("There is no correction to undo.")
        SegmentEdit.objects.filter(run=run, batch=last).update(
            superseded_at=timezone.now(), superseded_by_batch=batch
        )
        SegmentEdit.objects.filter(run=run, superseded_by_batch=last).update(
            superseded_at=None, superseded_by_batch=None
        )
    else:
        raise CorrectionError("Unknown correction.")
    updated = selectors.effective_segments_for_run(run)
    _store_corrected_summary(run=run, recording=recording, segments=updated)
    audit.record(
        actor=author,
        action=AuditAction.UPDATE,
        object_type="segment",
        object_id=recording.pk,
        child=recording.session.child,
        request=request,
        detail=detail,
    )
    return updated


def _store_corrected_summary(
    *, run: AnalysisRun, recording: Recording, segments: list[dict[str, Any]]
) -> None:
    active = SegmentEdit.objects.filter(run=run, superseded_at__isnull=True).count()
    if active == 0:
        RunCorrectedSummary.objects.filter(run=run).delete()
        return
    summary = summarize(stretches(segments), recording.duration_s)
    RunCorrectedSummary.objects.update_or_create(
        run=run, defaults={"summary": summary, "edit_count": active}
    )
