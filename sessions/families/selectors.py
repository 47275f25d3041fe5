"""Reads of the families app: consent status, progress reports and their summaries.

Who may see a report is stated in ``sessions.access`` (``reports_visible_to``,
``get_report_for_user``, ``is_staff_reader``); every function here takes objects the caller
already fetched through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from analysis.engine.labels import CANONICAL_LABELS, VALENCE_CLASS
from sessions.families.models import (
    ConsentChannel,
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    ErasureStatus,
    OnlineConsentPolicy,
    ProgressReport,
    ReportStatus,
    ScheduledErasure,
)
from sessions.models import Child, Clinic, Recording, TherapySession

# --- consent ----------------------------------------------------------------------------------

# The key in a report's summary: the therapist included listening practice (a draft keeps only
# this choice; a released report has it with the frozen figures under "listening").
LISTENING_CHOICE = "include_listening"


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


def consent_live(*, child: Child, purpose: str) -> ConsentRecord | None:
    """The consent in force for ``purpose`` (who gave it, when, to which text), if any."""
    return next(s.live for s in consent_overview(child=child) if s.purpose == purpose)


def online_consent_purposes(*, clinic: Clinic | Any) -> list[str]:
    """The purposes guardians of ``clinic`` may give or withdraw online (all of them until the
    clinic chooses otherwise in the console)."""
    policy = OnlineConsentPolicy.objects.filter(clinic=clinic).first()
    if policy is None:
        return list(ConsentPurpose.values)
    return [p for p in ConsentPurpose.values if p in policy.purposes]


def pending_erasure(*, child: Child) -> ScheduledErasure | None:
    """The erasure waiting for its undo window to pass, if the guardian withdrew recording
    consent online."""
    return ScheduledErasure.objects.filter(child=child, status=ErasureStatus.PENDING).first()


@dataclass(frozen=True)
class OnlineChange:
    at: dt.datetime
    child: Child
    what: str
    purpose_label: str
    erasure: ScheduledErasure | None = None


def online_consent_changes(*, clinic: Clinic, limit: int = 20) -> list[OnlineChange]:
    """The latest consent changes guardians made online in ``clinic``, newest first, for the
    console's notice: given, withdrawn, and the state of each scheduled erasure."""
    changes: list[OnlineChange] = []
    records = ConsentRecord.objects.filter(child__clinic=clinic).select_related("child")
    for record in records.filter(channel=ConsentChannel.ONLINE).order_by("-recorded_at")[:limit]:
        changes.append(
            OnlineChange(record.recorded_at, record.child, "given", record.get_purpose_display())
        )
    withdrawn = records.filter(revoked_channel=ConsentChannel.ONLINE).order_by("-revoked_at")
    for record in withdrawn[:limit]:
        assert record.revoked_at is not None
        changes.append(
            OnlineChange(record.revoked_at, record.child, "withdrawn", record.get_purpose_display())
        )
    erasures = (
        ScheduledErasure.objects.filter(child__clinic=clinic)
        .select_related("child")
        .order_by("-created_at")[:limit]
    )
    for erasure in erasures:
        changes.append(
            OnlineChange(
                erasure.updated_at,
                erasure.child,
                "erasure",
                ConsentPurpose.RECORDING.label,
                erasure,
            )
        )
    return sorted(changes, key=lambda c: c.at, reverse=True)[:limit]


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


# --- reports ----------------------------------------------------------------------------------


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


def _child_figures(roles: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The child's part of combined session figures (``sessions.workspace.selectors``'s, the
    therapist's numbers too), with every emotion present and the three mood groups; None
    when the child did not speak."""
    child = (roles or {}).get("child")
    if not child or not child["speech_s"]:
        return None
    shares = {label: child["emotion_shares"].get(label, 0.0) for label in CANONICAL_LABELS}
    groups = dict.fromkeys((key for key, _ in MOOD_GROUPS), 0.0)
    for label, share in shares.items():
        groups[VALENCE_CLASS[label]] += share
    return {
        "speech_s": child["speech_s"],
        "talk_share": child["talk_share"],
        "segments": child["segments"],
        "emotion_shares": shares,
        "mood": {key: round(value, 4) for key, value in groups.items()},
        "valence_mean": child["valence_mean"],
        "arousal_mean": child["arousal_mean"],
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
    include_listening: bool = False,
) -> dict[str, Any]:
    """The automatic part of a progress report, as plain JSON (frozen into a released report).
    With ``include_listening`` also the child's listening practice of the period.

    Per session: date, kind and the child's speech figures (emotion time shares, the three mood
    groups, mean valence/arousal, talk-time share); overall: the same weighted by speech time;
    trends of the mood and talk share; practice progress. No notes, titles or names.
    """
    from sessions.workspace.selectors import combine_summaries, session_figures

    chosen = sorted(sessions, key=lambda s: (s.date, s.created_at))
    figures = session_figures(chosen)
    rows: list[dict[str, Any]] = []
    for session, fig in zip(chosen, figures, strict=True):
        rows.append(
            {
                "date": session.date.isoformat(),
                "kind": session.kind,
                "kind_label": session.get_kind_display(),
                "analysed_recordings": fig.analysed,
                "child": _child_figures(fig.roles),
            }
        )
    with_data = [r for r in rows if r["child"]]
    # The period's figures from every analysed recording of it, by the same rule.
    overall = _child_figures(
        combine_summaries(
            row.summary for fig in figures for row in fig.recording_rows if row.summary
        )
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
        **(_listening(child, period_start, period_end) if include_listening else {}),
    }


def _listening(child: Child, start: dt.date, end: dt.date) -> dict[str, Any]:
    from sessions.listening.selectors import report_figures

    return {LISTENING_CHOICE: True, "listening": report_figures(child=child, start=start, end=end)}


def report_data(report: ProgressReport) -> dict[str, Any]:
    """The summary shown for ``report``: frozen when released, computed afresh for a draft."""
    if report.is_released:
        return report.summary
    return report_summary(
        child=report.child,
        sessions=report.sessions.all(),
        period_start=report.period_start,
        period_end=report.period_end,
        include_listening=bool(report.summary.get(LISTENING_CHOICE)),
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
