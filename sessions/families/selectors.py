"""Reads of the families app: consent status, progress reports and their summaries.

Who may see a report follows the rules stated in ``sessions.access`` (a therapist of the child
and the clinic's admin see every version; a guardian sees only released reports, and only while
the sharing consent holds); ``reports_visible_to`` and ``get_report_for_user`` apply them, built
on the predicates of that module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from analysis.engine.labels import CANONICAL_LABELS, VALENCE_CLASS
from sessions import access
from sessions.families.models import (
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    ProgressReport,
    ReportStatus,
)
from sessions.models import Child, Clinic, Recording, TherapySession

# --- consent ----------------------------------------------------------------------------------


def consent_text_current(*, clinic: Clinic | Any, purpose: str) -> ConsentText | None:
    return ConsentText.objects.filter(clinic=clinic, purpose=purpose).order_by("-version").first()


def consent_texts_current(*, clinic: Clinic) -> dict[str, ConsentText | None]:
    texts: dict[str, ConsentText | None] = dict.fromkeys(ConsentPurpose.values)
    for text in ConsentText.objects.filter(clinic=clinic).order_by("purpose", "-version"):
        texts[text.purpose] = texts[text.purpose] or text
    return texts


@dataclass(frozen=True)
class ConsentStatus:
    purpose: str
    label: str
    live: ConsentRecord | None
    history: list[ConsentRecord]

    @property
    def given(self) -> bool:
        return self.live is not None


def consent_overview(*, child: Child) -> list[ConsentStatus]:
    """One entry per purpose: the consent in force (if any) and every earlier record."""
    records = list(
        ConsentRecord.objects.filter(child=child)
        .select_related("text", "recorded_by", "revoked_by")
        .order_by("-recorded_at")
    )
    overview = []
    for purpose in ConsentPurpose:
        mine = [r for r in records if r.purpose == purpose]
        live = next((r for r in mine if r.revoked_at is None), None)
        overview.append(
            ConsentStatus(purpose.value, purpose.label, live, [r for r in mine if r is not live])
        )
    return overview


def children_with_live_consent(*, clinic: Clinic) -> QuerySet[Child]:
    """The clinic's children annotated with one boolean per purpose (``consent_<purpose>``)."""
    annotations = {
        f"consent_{purpose}": Exists(
            ConsentRecord.objects.filter(
                child=OuterRef("pk"), purpose=purpose, revoked_at__isnull=True
            )
        )
        for purpose in ConsentPurpose.values
    }
    return Child.objects.filter(clinic=clinic).annotate(**annotations)


def erasure_preview(*, child: Child) -> dict[str, int]:
    """What revoking recording consent would delete, for the confirmation page."""
    from analysis.models import AnalysisRun, Segment

    recordings = Recording.objects.filter(session__child=child)
    return {
        "recordings": recordings.count(),
        "audio_files": recordings.exclude(file="").count(),
        "analysis_runs": AnalysisRun.objects.filter(recording__in=recordings).count(),
        "segments": Segment.objects.filter(run__recording__in=recordings).count(),
    }


# --- report access ----------------------------------------------------------------------------


def _sharing_live() -> Exists:
    return Exists(
        ConsentRecord.objects.filter(
            child=OuterRef("child"), purpose=ConsentPurpose.SHARING, revoked_at__isnull=True
        )
    )


def reports_visible_to(user: Any) -> QuerySet[ProgressReport]:
    if not getattr(user, "is_authenticated", False):
        return ProgressReport.objects.none()
    admin_children = Child.objects.filter(clinic__in=access.admin_clinics(user)).values("pk")
    guardian_children = access.children_visible_to(user).filter(guardians=user).values("pk")
    return ProgressReport.objects.filter(
        Q(child_id__in=admin_children)
        | Q(child_id__in=access.children_editable_by(user).values("pk"))
        | (Q(child_id__in=guardian_children, status=ReportStatus.RELEASED) & Q(_sharing_live()))
    ).distinct()


def get_report_for_user(user: Any, report_id: Any, *, write: bool = False) -> ProgressReport:
    try:
        report: ProgressReport = (
            reports_visible_to(user)
            .select_related("child", "child__clinic", "released_by", "created_by")
            .get(pk=report_id)
        )
    except (ProgressReport.DoesNotExist, ValidationError, ValueError) as exc:
        # A malformed (forged) id is as unknown as a missing one.
        raise Http404("Not found.") from exc
    if write and not access.is_therapist_of(user, report.child):
        raise PermissionDenied("You can read this report but not change it.")
    return report


def is_staff_reader(user: Any, child: Child) -> bool:
    """A therapist of the child or an admin of its clinic (not a guardian)."""
    return access.is_therapist_of(user, child) or access.is_admin_of_clinic(user, child.clinic_id)


def reports_for_family(*, child: Child) -> list[ProgressReport]:
    """The newest released version of each of the child's reports, newest period first;
    empty while the sharing consent is not in force."""
    from sessions.families.consent import has_consent

    if not has_consent(child, ConsentPurpose.SHARING):
        return []
    released = ProgressReport.objects.filter(child=child, status=ReportStatus.RELEASED)
    newer = released.filter(series=OuterRef("series"), version__gt=OuterRef("version"))
    return list(released.exclude(Exists(newer)).order_by("-period_end", "-released_at"))


def reports_for_staff(*, child: Child) -> list[ProgressReport]:
    """Every report series of the child with its newest version first in each."""
    reports = list(
        ProgressReport.objects.filter(child=child)
        .select_related("released_by")
        .order_by("-period_end", "series", "-version")
    )
    return reports


def newest_released_in_series(report: ProgressReport) -> ProgressReport | None:
    return (
        ProgressReport.objects.filter(series=report.series, status=ReportStatus.RELEASED)
        .order_by("-version")
        .first()
    )


# --- report summaries -------------------------------------------------------------------------

# The three groups families see; colour is never the only cue (charts use patterns and words).
MOOD_GROUPS: tuple[tuple[str, str], ...] = (
    ("positive", "Cheerful"),
    ("neutral", "Calm or neutral"),
    ("negative", "Upset or tense"),
)


def _role_part(summary: Mapping[str, Any], role: str = "child") -> Mapping[str, Any] | None:
    """The per-role part of an analysis summary (``speakers.<role>`` of
    analysis.engine.emotion.summary)."""
    part = (summary.get("speakers") or {}).get(role)
    return part if isinstance(part, Mapping) else None


def _number(part: Mapping[str, Any], key: str) -> float | None:
    value = part.get(key)
    return float(value) if isinstance(value, int | float) else None


def _analysed_summaries(sessions: Iterable[TherapySession]) -> dict[Any, list[dict[str, Any]]]:
    """Per session id: the summary of each recording's newest finished analysis, with the
    therapist-corrected summary standing in where one exists."""
    from analysis.models import AnalysisRun, RunStatus

    session_ids = [s.pk for s in sessions]
    runs = (
        AnalysisRun.objects.filter(recording__session_id__in=session_ids, status=RunStatus.DONE)
        .order_by("recording_id", F("finished_at").desc(nulls_last=True), "-created_at")
        .values("pk", "recording_id", "recording__session_id", "summary")
    )
    # The first run of each recording is its newest. Picked here rather than with
    # DISTINCT ON, which only PostgreSQL has (the demo runs on SQLite).
    newest: list[Any] = []
    seen: set[Any] = set()
    for run in runs:
        if run["recording_id"] not in seen:
            seen.add(run["recording_id"])
            newest.append(run)
    corrected: dict[Any, dict[str, Any]] = {}
    if apps.is_installed("sessions.workspace"):
        try:
            model = apps.get_model("workspace", "RunCorrectedSummary")
        except LookupError:
            model = None
        if model is not None:
            corrected = dict(
                model.objects.filter(run_id__in=[r["pk"] for r in newest]).values_list(
                    "run_id", "summary"
                )
            )
    by_session: dict[Any, list[dict[str, Any]]] = {}
    for run in newest:
        summary = corrected.get(run["pk"]) or run["summary"] or {}
        by_session.setdefault(run["recording__session_id"], []).append(summary)
    return by_session


def _combine(summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The child's part of several recordings' summaries, weighted by the child's speech time."""
    speech = 0.0
    all_speech = 0.0
    shares = dict.fromkeys(CANONICAL_LABELS, 0.0)
    valence = arousal = 0.0
    va_weight = 0.0
    segments = 0
    for summary in summaries:
        part = _role_part(summary)
        if part is None:
            continue
        child_s = _number(part, "speech_s") or 0.0
        talk = _number(part, "talk_share")
        total = _number(summary, "speech_s")
        if total is None and talk:
            total = child_s / talk
        speech += child_s
        all_speech += total or child_s
        segments += int(_number(part, "segment_count") or 0)
        for label, share in (part.get("emotion_share") or {}).items():
            if label in shares and isinstance(share, int | float):
                shares[label] += float(share) * child_s
        v = _number(part, "mean_valence")
        a = _number(part, "mean_arousal")
        if v is not None and a is not None and child_s > 0:
            valence += v * child_s
            arousal += a * child_s
            va_weight += child_s
    if speech <= 0:
        return None
    emotion_shares = {label: round(value / speech, 4) for label, value in shares.items()}
    groups = dict.fromkeys((key for key, _ in MOOD_GROUPS), 0.0)
    for label, share in emotion_shares.items():
        groups[VALENCE_CLASS[label]] += share
    return {
        "speech_s": round(speech, 1),
        "talk_share": round(speech / all_speech, 4) if all_speech else None,
        "segments": segments,
        "emotion_shares": emotion_shares,
        "mood": {key: round(value, 4) for key, value in groups.items()},
        "valence_mean": round(valence / va_weight, 4) if va_weight else None,
        "arousal_mean": round(arousal / va_weight, 4) if va_weight else None,
    }


def _trend(points: list[float]) -> str:
    """'up', 'down' or 'steady': the later half of the sessions against the earlier half."""
    if len(points) < 4:
        return "too_few"
    half = len(points) // 2
    early = sum(points[:half]) / half
    late = sum(points[-half:]) / half
    if late - early > 0.05:
        return "up"
    if early - late > 0.05:
        return "down"
    return "steady"


def _exercise_progress(child: Child, start: dt.date, end: dt.date) -> list[dict[str, Any]] | None:
    """Practice in the period, per exercise: tries, tries analysed, tries where the intended
    emotion came across (the therapist's review wins over the automatic result), mean stars.
    None when the exercises app is not installed."""
    try:
        from sessions.exercises.selectors import child_attempts
    except ImportError:
        return None
    rows: dict[str, dict[str, Any]] = {}
    attempts = child_attempts(child=child).filter(
        created_at__date__gte=start, created_at__date__lte=end
    )
    for attempt in attempts:
        title = attempt.assignment.exercise.title
        row = rows.setdefault(
            title, {"exercise": title, "attempts": 0, "completed": 0, "conveyed": 0, "stars": []}
        )
        row["attempts"] += 1
        if attempt.status == "done":
            row["completed"] += 1
        conveyed = (
            attempt.reviewed_conveyed if attempt.reviewed_conveyed is not None else attempt.conveyed
        )
        row["conveyed"] += int(bool(conveyed))
        stars = attempt.reviewed_stars if attempt.reviewed_stars is not None else attempt.stars
        if stars is not None:
            row["stars"].append(stars)
    result = []
    for row in sorted(rows.values(), key=lambda r: r["exercise"]):
        stars_list = row.pop("stars")
        row["mean_stars"] = round(sum(stars_list) / len(stars_list), 1) if stars_list else None
        result.append(row)
    return result


def report_summary(
    *,
    child: Child,
    sessions: Iterable[TherapySession],
    period_start: dt.date,
    period_end: dt.date,
) -> dict[str, Any]:
    """The automatic part of a progress report, as plain JSON (frozen into a released report).

    Per session: date, kind and the child's speech figures (emotion time shares, the three mood
    groups, mean valence/arousal, talk-time share); overall: the same weighted by speech time;
    trends of the mood and talk share; practice progress. No notes, titles or names.
    """
    chosen = sorted(sessions, key=lambda s: (s.date, s.created_at))
    summaries = _analysed_summaries(chosen)
    rows: list[dict[str, Any]] = []
    for session in chosen:
        combined = _combine(summaries.get(session.pk, []))
        rows.append(
            {
                "date": session.date.isoformat(),
                "kind": session.kind,
                "kind_label": session.get_kind_display(),
                "analysed_recordings": len(summaries.get(session.pk, [])),
                "child": combined,
            }
        )
    with_data = [r for r in rows if r["child"]]
    overall = _combine(
        [
            {
                "speech_s": (
                    r["child"]["speech_s"] / r["child"]["talk_share"]
                    if r["child"]["talk_share"]
                    else None
                ),
                # Re-wrapped in the shape analysis.engine.emotion.summary writes, so one combiner
                # serves both.
                "speakers": {
                    "child": {
                        "speech_s": r["child"]["speech_s"],
                        "talk_share": r["child"]["talk_share"],
                        "segment_count": r["child"]["segments"],
                        "emotion_share": r["child"]["emotion_shares"],
                        "mean_valence": r["child"]["valence_mean"],
                        "mean_arousal": r["child"]["arousal_mean"],
                    }
                },
            }
            for r in with_data
        ]
    )
    pleasant = [r["child"]["mood"]["positive"] + r["child"]["mood"]["neutral"] for r in with_data]
    talk = [r["child"]["talk_share"] for r in with_data if r["child"]["talk_share"] is not None]
    return {
        "generated_at": timezone.now().isoformat(),
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "session_count": len(rows),
        "sessions_with_data": len(with_data),
        "sessions": rows,
        "overall": overall,
        "trends": {"calm_or_cheerful": _trend(pleasant), "talk_share": _trend(talk)},
        "exercises": _exercise_progress(child, period_start, period_end),
    }


def report_data(report: ProgressReport) -> dict[str, Any]:
    """The summary shown for ``report``: frozen when released, computed afresh for a draft."""
    if report.is_released:
        return report.summary
    return report_summary(
        child=report.child,
        sessions=report.sessions.all(),
        period_start=report.period_start,
        period_end=report.period_end,
    )


def family_trend(*, child: Child) -> list[dict[str, Any]]:
    """Per-session points from the reports released to the family (never unreleased data):
    date and the share of the child's speech that sounded calm or cheerful."""
    points: dict[str, dict[str, Any]] = {}
    for report in sorted(reports_for_family(child=child), key=lambda r: (r.period_end, r.version)):
        for row in report.summary.get("sessions", []):
            if row.get("child"):
                mood = row["child"]["mood"]
                points[row["date"]] = {
                    "date": row["date"],
                    "calm_or_cheerful": round(mood["positive"] + mood["neutral"], 4),
                    "talk_share": row["child"].get("talk_share"),
                }
    return [points[d] for d in sorted(points)]
