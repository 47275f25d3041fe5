"""Reads of the therapist workspace: the session dashboard, a recording's corrected timeline,
summaries and trends (from stored summaries, never by recomputing timelines), exports and the
corrected segments that count as labelled training data.

Every function takes objects the caller already fetched through ``sessions.access`` (which
also fetches the workspace's own rows: ``get_upload_for_user``, ``get_marker_for_user``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet

from analysis import selectors as analysis_selectors
from analysis.engine.emotion import summary as summary_rules
from analysis.engine.labels import CANONICAL_LABELS
from analysis.models import AnalysisRun, RunFrames, RunStatus, Segment
from sessions import access
from sessions.models import Child, Clinic, Recording, RecordingStatus, TherapySession, User
from sessions.types import Actor
from sessions.workspace import corrections
from sessions.workspace.models import (
    ChunkedUpload,
    RecordingWaveform,
    RunCorrectedSummary,
    RunTimeline,
    SegmentEdit,
    TrendMarker,
    UploadStatus,
)

ROLES = corrections.SPEAKERS

# --- runs, edits, effective segments --------------------------------------------------------


def shown_run(recording: Recording) -> AnalysisRun | None:
    """The run whose results the dashboard shows (the newest finished one)."""
    return analysis_selectors.results_run(recording)


def active_edits(run: AnalysisRun | Any) -> list[corrections.EditRow]:
    rows = (
        SegmentEdit.objects.filter(run=run, superseded_at__isnull=True)
        .select_related("author")
        .order_by("start_s", "created_at")
    )
    return [
        corrections.EditRow(
            id=str(e.pk),
            start_s=e.start_s,
            end_s=e.end_s,
            speaker=e.speaker,
            emotion=e.emotion,
            speaker_by_therapist=e.speaker_by_therapist,
            emotion_by_therapist=e.emotion_by_therapist,
            note=e.note,
            source_segment_ids=tuple(str(i) for i in e.source_segment_ids),
            author=str(e.author) if e.author else "",
            edited_at=e.created_at.isoformat(),
            operation=e.operation,
        )
        for e in rows
    ]


_SEGMENT_FIELDS = (
    "id",
    "index",
    "start_s",
    "end_s",
    "speaker",
    "speaker_confidence",
    "cluster",
    "emotion",
    "confidence",
    "uncertain",
    "uncertain_reason",
    "valence",
    "arousal",
)


def model_segments(run: AnalysisRun | Any, *, probabilities: bool = False) -> list[dict[str, Any]]:
    fields = (*_SEGMENT_FIELDS, "probabilities") if probabilities else _SEGMENT_FIELDS
    rows = list(Segment.objects.filter(run=run).order_by("index").values(*fields))
    for row in rows:
        row["id"] = str(row["id"])
    return rows


def effective_segments_for_run(run: AnalysisRun | Any) -> list[dict[str, Any]]:
    return corrections.effective_segments(model_segments(run), active_edits(run))


def run_frames(run: AnalysisRun | Any) -> list[dict[str, Any]]:
    frames = RunFrames.objects.filter(run=run).values_list("frames", flat=True).first()
    return list(frames or [])


def recording_workspace(recording: Recording, *, with_frames: bool = True) -> dict[str, Any]:
    """Everything the dashboard draws for one recording: the corrected segments, the model's
    per-window frames (unless ``with_frames`` is false: the dashboard uses the stored
    timeline traces instead) and the status of its analysis."""
    run = shown_run(recording)
    if run is None:
        return {
            "run": None,
            "run_object": None,
            "segments": [],
            "frames": [],
            "duration_s": recording.duration_s,
            "no_speech": False,
            "model_version": None,
            "edit_count": 0,
            "earlier_run_edits": 0,
        }
    segments = effective_segments_for_run(run)
    earlier = (
        SegmentEdit.objects.filter(run__recording=recording, superseded_at__isnull=True)
        .exclude(run=run)
        .count()
    )
    version = run.model_version
    return {
        "run": str(run.pk),
        "run_object": run,
        "segments": segments,
        "frames": run_frames(run) if with_frames else [],
        "duration_s": recording.duration_s or (segments[-1]["end_s"] if segments else 0.0),
        "no_speech": run.no_speech,
        "model_version": {"id": str(version.pk), "name": version.name, "version": version.version},
        "edit_count": sum(1 for s in segments if s["key"].startswith(corrections.EDIT_PREFIX)),
        "earlier_run_edits": earlier,
    }


def stored_timeline(run: AnalysisRun | Any) -> RunTimeline | None:
    """The stored model-output traces of the run's timeline, if built in the current format."""
    from sessions.workspace.charts import TIMELINE_FORMAT

    return RunTimeline.objects.filter(run=run, format=TIMELINE_FORMAT).first()


def timeline_traces(run: AnalysisRun | Any) -> tuple[list[str], str]:
    """The run's timeline roles and model-output traces (JSON text): the stored ones, or,
    where none are stored in the current format, computed from the frames without storing
    (reading a timeline never writes; ``timelines.timeline_store`` stores them when the run's
    frames are written)."""
    stored = stored_timeline(run)
    if stored is not None:
        return list(stored.roles), stored.traces
    from sessions.workspace import charts

    return charts.timeline_traces(run_frames(run))


def waveform(recording: Recording) -> RecordingWaveform | None:
    return RecordingWaveform.objects.filter(recording=recording).first()


# --- summaries --------------------------------------------------------------------------------


def combine_summaries(summaries: Iterable[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """The session-level figures of each workspace role from its recordings' summaries:
    ``analysis.engine.emotion.summary.combine``, the rule the family report uses too."""
    return summary_rules.combine(summaries, roles=ROLES)


@dataclass
class RecordingRow:
    recording: Recording
    run_id: Any = None
    summary: dict[str, Any] | None = None
    corrected: bool = False
    stage: str = ""
    progress: int = 0
    error: str = ""


@dataclass
class SessionFigures:
    """A session's stored figures, ready for the summary panel and the trend charts."""

    session_id: Any
    date: date
    kind: str
    title: str
    roles: dict[str, Any] | None
    recordings: int = 0
    analysed: int = 0
    corrected: bool = False
    recording_rows: list[RecordingRow] = field(default_factory=list)


def _shown_runs(recording_ids: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    """For each recording: its newest finished run (id, summary) and its newest run's state."""
    rows = (
        AnalysisRun.objects.filter(recording_id__in=recording_ids)
        .order_by("recording_id", "-created_at")
        .values(
            "id",
            "recording_id",
            "status",
            "stage",
            "progress",
            "error",
            "summary",
            "finished_at",
            "created_at",
        )
    )
    out: dict[Any, dict[str, Any]] = {}
    for row in rows:
        entry = out.setdefault(row["recording_id"], {"latest": row, "done": None})
        done = entry["done"]
        if row["status"] == RunStatus.DONE and (
            done is None
            or (
                row["finished_at"]
                and done["finished_at"]
                and row["finished_at"] > done["finished_at"]
            )
        ):
            entry["done"] = row
    return out


def session_figures(
    sessions: Sequence[TherapySession], recordings: Sequence[Recording] | None = None
) -> list[SessionFigures]:
    """Stored figures of each session (three queries, whatever the number of sessions).

    Corrected summaries stand in for the model's where a therapist corrected a run.
    """
    session_ids = [s.pk for s in sessions]
    if recordings is None:
        recordings = list(
            Recording.objects.filter(session_id__in=session_ids).order_by("created_at")
        )
    runs = _shown_runs([r.pk for r in recordings])
    done_ids = [e["done"]["id"] for e in runs.values() if e["done"]]
    corrected = (
        dict(
            RunCorrectedSummary.objects.filter(run_id__in=done_ids).values_list("run_id", "summary")
        )
        if done_ids
        else {}
    )
    by_session: dict[Any, list[RecordingRow]] = {sid: [] for sid in session_ids}
    for recording in recordings:
        entry = runs.get(recording.pk)
        row = RecordingRow(recording=recording)
        if entry:
            latest = entry["latest"]
            row.stage, row.progress, row.error = (
                latest["stage"],
                latest["progress"],
                (latest["error"]),
            )
            if entry["done"]:
                run_id = entry["done"]["id"]
                row.run_id = run_id
                row.corrected = run_id in corrected
                row.summary = corrected.get(run_id) or entry["done"]["summary"] or None
        by_session.setdefault(recording.session_id, []).append(row)
    figures = []
    for session in sessions:
        rows = by_session.get(session.pk, [])
        figures.append(
            SessionFigures(
                session_id=session.pk,
                date=session.date,
                kind=session.kind,
                title=session.title,
                roles=combine_summaries(r.summary for r in rows if r.summary),
                recordings=len(rows),
                analysed=sum(1 for r in rows if r.summary is not None),
                corrected=any(r.corrected for r in rows),
                recording_rows=rows,
            )
        )
    return figures


def previous_session(session: TherapySession) -> TherapySession | None:
    """The child's session before this one that has at least one finished analysis."""
    return (
        TherapySession.objects.filter(
            child_id=session.child_id,
            date__lte=session.date,
            recordings__runs__status=RunStatus.DONE,
        )
        .exclude(pk=session.pk)
        .exclude(date=session.date, created_at__gt=session.created_at)
        .order_by("-date", "-created_at")
        .distinct()
        .first()
    )


def compare(
    current: Mapping[str, Any] | None, previous: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """What changed for the child since the previous session, as readable rows."""
    if not current or not previous:
        return []
    now, before = current.get("child"), previous.get("child")
    if not now or not before or not now["speech_s"] or not before["speech_s"]:
        return []
    rows: list[dict[str, Any]] = []

    def add(label: str, a: float | None, b: float | None, kind: str) -> None:
        if a is None or b is None:
            return
        rows.append({"label": label, "now": a, "before": b, "delta": a - b, "kind": kind})

    add("Talk-time share", now["talk_share"], before["talk_share"], "share")
    add("Mean valence", now["valence_mean"], before["valence_mean"], "scale")
    add("Mean arousal", now["arousal_mean"], before["arousal_mean"], "scale")
    for label in CANONICAL_LABELS:
        a, b = now["emotion_shares"].get(label, 0.0), before["emotion_shares"].get(label, 0.0)
        if a or b:
            add(label.capitalize(), a, b, "share")
    return rows


def active_uploads(session: TherapySession, user: Actor) -> list[ChunkedUpload]:
    if not isinstance(user, User):
        return []
    return list(
        ChunkedUpload.objects.filter(
            session=session,
            created_by=user,
            status__in=[UploadStatus.UPLOADING, UploadStatus.FINALIZING],
        ).order_by("created_at")
    )


def main_recording(rows: Sequence[RecordingRow]) -> RecordingRow | None:
    """The recording a session page opens on: the longest analysed one (the session itself,
    not a short clip added after it), else the newest."""
    done = [r for r in rows if r.run_id]
    if done:
        # max() keeps the first of equals: among equally long ones, the earliest.
        return max(done, key=lambda r: r.recording.duration_s or 0.0)
    return rows[-1] if rows else None


def session_dashboard(
    *, session: TherapySession, user: Actor, recording_id: str | None = None
) -> dict[str, Any]:
    """The dashboard of one session: its recordings with their analysis state, the one shown,
    the child's summary and the comparison with the previous analysed session."""
    recordings = list(session.recordings.order_by("created_at"))
    figures = session_figures([session], recordings)[0]
    previous = previous_session(session)
    previous_figures = session_figures([previous])[0] if previous else None
    selected = None
    if recording_id:
        selected = next(
            (r for r in figures.recording_rows if str(r.recording.pk) == recording_id), None
        )
    if selected is None:
        selected = main_recording(figures.recording_rows)
    can_edit = access.is_therapist_of(user, session.child)
    return {
        "session": session,
        "figures": figures,
        "recording_rows": figures.recording_rows,
        "selected": selected,
        "child_roles": figures.roles,
        # The shown recording's own figures, for "this recording" beside the session's.
        "recording_roles": combine_summaries([selected.summary])
        if selected is not None and selected.summary
        else None,
        "previous": previous,
        "previous_figures": previous_figures,
        "changes": compare(figures.roles, previous_figures.roles if previous_figures else None),
        "can_edit": can_edit,
        "uploads": active_uploads(session, user) if can_edit else [],
    }


# --- the children list ------------------------------------------------------------------------


def children_overview(children: QuerySet[Child], *, sessions: QuerySet[TherapySession]) -> Any:
    """``children`` with what a therapist looks at first: ``last_session`` (date of the newest
    session the user may see), ``attempts_to_review`` (analysed practice tries nobody reviewed
    yet) and ``failed_analyses`` (recordings whose analysis failed or was stopped). Subqueries,
    so the page stays one query whatever the number of children."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from sessions.exercises.models import Attempt, AttemptStatus

    last = sessions.filter(child=OuterRef("pk")).order_by("-date", "-created_at").values("date")[:1]
    waiting = (
        Attempt.objects.filter(
            child=OuterRef("pk"), status=AttemptStatus.DONE, reviewed_at__isnull=True
        )
        .order_by()
        .values("child")
        .annotate(n=Count("pk"))
        .values("n")
    )
    failed = (
        Recording.objects.filter(
            session__in=sessions,
            session__child=OuterRef("pk"),
            status__in=[RecordingStatus.FAILED, RecordingStatus.QUARANTINED],
        )
        .order_by()
        .values("session__child")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return children.annotate(
        last_session=Subquery(last),
        attempts_to_review=Coalesce(Subquery(waiting, output_field=IntegerField()), 0),
        failed_analyses=Coalesce(Subquery(failed, output_field=IntegerField()), 0),
    )


# --- trends -----------------------------------------------------------------------------------


def child_trends(
    *,
    child: Child,
    sessions: QuerySet[TherapySession],
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Per-session points of the child's speech over time (oldest first) and the therapist's
    markers, from stored summaries: a year of weekly sessions is four queries."""
    selected = sessions.filter(child=child)
    if date_from:
        selected = selected.filter(date__gte=date_from)
    if date_to:
        selected = selected.filter(date__lte=date_to)
    if kind:
        selected = selected.filter(kind=kind)
    session_list = list(selected.order_by("date", "created_at"))
    figures = session_figures(session_list)
    points = []
    for fig in figures:
        stats = (fig.roles or {}).get("child")
        if not stats or not stats["speech_s"]:
            continue
        points.append(
            {
                "session_id": str(fig.session_id),
                "date": fig.date,
                "kind": fig.kind,
                "title": fig.title,
                "talk_share": stats["talk_share"],
                "valence_mean": stats["valence_mean"],
                "valence_sd": stats["valence_sd"],
                "arousal_mean": stats["arousal_mean"],
                "arousal_sd": stats["arousal_sd"],
                "emotion_shares": stats["emotion_shares"],
                "speech_s": stats["speech_s"],
                "corrected": fig.corrected,
            }
        )
    markers = list(TrendMarker.objects.filter(child=child).order_by("date", "created_at"))
    return {
        "points": points,
        "practice": practice_by_week(child=child, date_from=date_from, date_to=date_to),
        "markers": markers,
        "session_count": len(session_list),
        "unanalysed": len(session_list) - len(points),
    }


def practice_by_week(
    *, child: Child, date_from: date | None = None, date_to: date | None = None
) -> list[dict[str, Any]]:
    """The child's practice exercises per week (one query): analysed attempts and the share in
    which the target emotion came across, the therapist's review overriding the model's."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncWeek

    from sessions.exercises.models import Attempt, AttemptStatus

    attempts = Attempt.objects.filter(child=child, status=AttemptStatus.DONE)
    if date_from:
        attempts = attempts.filter(created_at__date__gte=date_from)
    if date_to:
        attempts = attempts.filter(created_at__date__lte=date_to)
    conveyed = Q(reviewed_conveyed=True) | Q(reviewed_conveyed__isnull=True, conveyed=True)
    rows = (
        attempts.annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(attempts=Count("id"), conveyed=Count("id", filter=conveyed))
        .order_by("week")
    )
    return [
        {
            "week": row["week"].date(),
            "attempts": row["attempts"],
            "conveyed_share": row["conveyed"] / row["attempts"] if row["attempts"] else None,
        }
        for row in rows
    ]


# --- training data ------------------------------------------------------------------------------


def corrected_segments(
    *,
    clinic: Clinic | Any = None,
    child: Child | Any = None,
    require_training_consent: bool = True,
) -> list[SegmentEdit]:
    """Therapist-labelled stretches usable as training data (the one list ``train_head`` and
    ``analysis.registry.selectors.clips_from_corrections`` read): every active (not
    superseded) correction whose emotion a therapist chose or confirmed, with a canonical
    emotion and a positive length, ordered by recording and start.

    Only the newest corrected run of each recording counts (a re-analysed recording corrected
    on both runs is not counted twice), recordings whose audio was deleted are left out, and
    by default only children whose guardian consents to training *now*: consent is checked
    again per child after the query, so a revocation between the two wins.
    """
    from sessions.families.consent import children_with_consent, has_consent

    edits = SegmentEdit.objects.filter(
        superseded_at__isnull=True,
        emotion_by_therapist=True,
        emotion__in=CANONICAL_LABELS,
        run__recording__audio_deleted_at__isnull=True,
    ).exclude(run__recording__file="")
    if clinic is not None:
        edits = edits.filter(run__recording__session__child__clinic=clinic)
    if child is not None:
        edits = edits.filter(run__recording__session__child=child)
    if require_training_consent:
        consenting = [str(pk) for pk in children_with_consent("training")]
        edits = edits.filter(run__recording__session__child_id__in=consenting)
    rows = list(
        edits.select_related("run__recording__session__child").order_by(
            "run__recording_id", "-run__created_at", "start_s"
        )
    )
    newest_run: dict[Any, Any] = {}
    allowed: dict[Any, bool] = {}
    out: list[SegmentEdit] = []
    for edit in rows:
        if edit.end_s <= edit.start_s:
            continue
        if newest_run.setdefault(edit.run.recording_id, edit.run_id) != edit.run_id:
            continue
        kid = edit.run.recording.session.child
        if require_training_consent:
            if kid.pk not in allowed:
                allowed[kid.pk] = has_consent(kid, "training")
            if not allowed[kid.pk]:
                continue
        out.append(edit)
    return out


# --- status -----------------------------------------------------------------------------------

FINISHED = {RecordingStatus.DONE, RecordingStatus.FAILED, RecordingStatus.QUARANTINED}
