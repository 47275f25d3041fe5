"""Naming a voice: "Who is Speaker A?" answered once for the whole recording.

Naming a lane (or saying of one segment "this voice is Alex") is one correction: a batch of
segment corrections relabelling every segment of that voice, undone like any other (the
workspace's "Undo last correction"), plus a ``LaneNaming`` row so the lane shows the person's
name and their voice print learns from the lane (``analysis.voices.selectors.improved_print``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from analysis.models import AnalysisRun, SpeakerLane
from analysis.voices import selectors as voices
from analysis.voices.services import lane_naming_record
from sessions import audit
from sessions.models import Recording
from sessions.models.audit import AuditAction
from sessions.types import Actor
from sessions.workspace import selectors
from sessions.workspace.corrections import CorrectionError, find
from sessions.workspace.models import EditOperation, SegmentEdit
from sessions.workspace.services import _new_edit, _store_corrected_summary, _supersede


@transaction.atomic
def lane_name(
    *,
    recording: Recording,
    author: Actor | None,
    person: str,
    lane: str | None = None,
    segment: str | None = None,
    request: HttpRequest | None = None,
) -> list[dict[str, Any]]:
    """Name the voice ``lane`` (a label such as "A"), or the voice of ``segment`` (an effective
    segment key), as ``person`` (a participant key from ``participant_choices`` or "other"),
    in the recording's shown run. Returns the new effective segments.

    Raises CorrectionError with a readable reason. Running it twice stores a second naming
    with the same result (harmless; one undo goes back to the first).
    """
    run = selectors.shown_run(recording)
    if run is None:
        raise CorrectionError("This recording has no finished analysis to correct yet.")
    AnalysisRun.objects.select_for_update().filter(pk=run.pk).first()
    session = recording.session
    if person not in dict(voices.participant_choices(session)):
        raise CorrectionError(
            "Choose one of the people who took part in this session (or “Someone else”)."
        )
    current = selectors.effective_segments_for_run(run)
    if segment is not None:
        lane = str(find(current, segment).get("cluster") or "")
        if not lane:
            raise CorrectionError(
                "The voices of this recording were not told apart when it was analysed: "
                "correct this segment's speaker instead, or analyse the recording again."
            )
    target = SpeakerLane.objects.filter(run=run, label=lane or "").first()
    if target is None:
        raise CorrectionError("That voice no longer exists: reload the page and try again.")
    role = voices.role_of_key(person, session)
    segments = [s for s in current if s.get("cluster") == target.label]
    batch = uuid.uuid4()
    edits = [
        _new_edit(
            run=run,
            batch=batch,
            operation=EditOperation.RELABEL,
            start_s=s["start_s"],
            end_s=s["end_s"],
            speaker=role,
            emotion=s["emotion"],
            speaker_by_therapist=True,
            emotion_by_therapist=bool(s["emotion_by_therapist"]),
            note=s["note"],
            sources=list(s["source_segment_ids"]),
            author=author,
        )
        for s in segments
    ]
    _supersede([s["key"] for s in segments], batch, run)
    SegmentEdit.objects.bulk_create(edits)
    lane_naming_record(lane=target, person_key=person, role=role, batch=batch, author=author)
    updated = selectors.effective_segments_for_run(run)
    _store_corrected_summary(run=run, recording=recording, segments=updated)
    audit.record(
        actor=author,
        action=AuditAction.UPDATE,
        object_type="segment",
        object_id=recording.pk,
        child=session.child,
        request=request,
        detail={
            "action": "name_lane",
            "lane": target.label,
            "role": role,
            "segments": len(edits),
        },
    )
    return updated
