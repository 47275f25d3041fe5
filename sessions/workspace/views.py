"""Web pages of the therapist workspace: the session dashboard and the child's trends (both
rendered by the portal's session and child pages through the two ``*_context`` functions), the
exports, and the trend markers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from analysis.engine.labels import CANONICAL_LABELS
from sessions import access, audit
from sessions.models import Child, SessionKind, TherapySession
from sessions.models.audit import AuditAction
from sessions.validation.selectors import poor_emotions
from sessions.workspace import charts, markers, selectors, uploads
from sessions.workspace.forms import TrendMarkerForm
from sessions.workspace.models import MarkerKind, TrendMetric

# --- the session dashboard (rendered by sessions.views.pages.session_detail) ------------------


def session_dashboard_context(request: HttpRequest, session: TherapySession) -> dict[str, Any]:
    """Template context of ``workspace/session_dashboard.html`` for a session the user may see."""
    context = selectors.session_dashboard(
        session=session, user=request.user, recording_id=request.GET.get("recording")
    )
    context["emotion_rows"] = _emotion_rows(context["child_roles"])
    # Emotions the clinic's blind reviews found the active model poor at: greyed out, and said.
    context["poor_emotions"] = poor_emotions(session.child.clinic)
    context["previous_emotion_rows"] = _emotion_rows(
        context["previous_figures"].roles if context["previous_figures"] else None
    )
    context["emotions"] = [(label, label.capitalize()) for label in CANONICAL_LABELS]
    context["accept"] = ",".join(uploads.ACCEPTED_EXTENSIONS) + ",audio/*,video/*"
    context["chunk_size"] = uploads.CHUNK_BYTES
    context["recordings"] = [row.recording for row in context["recording_rows"]]
    shares = ((context["recording_roles"] or {}).get("child") or {}).get("emotion_shares") or {}
    context["recording_main_emotion"] = max(shares, key=lambda k: shares[k]) if shares else ""
    return context


@login_required
@require_GET
def session_summary(request: HttpRequest, session_id: str) -> HttpResponse:
    """The session page's summary panel alone (HTML), fetched again after each correction so
    the figures follow the corrections without a reload."""
    session = access.get_session_for_user(request.user, session_id)
    audit.record_view(request, session, child=session.child, detail={"part": "summary"})
    response = render(
        request,
        "workspace/_session_summary.html",
        session_dashboard_context(request, session),
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _emotion_rows(roles: dict[str, Any] | None) -> list[dict[str, Any]]:
    child = (roles or {}).get("child")
    if not child or not child["speech_s"]:
        return []
    rows = [
        {
            "label": label,
            "share": child["emotion_shares"].get(label, 0.0),
            "colour": charts.emotion_colour(label),
            "pattern": charts.emotion_pattern(label),
        }
        for label in CANONICAL_LABELS
    ]
    return sorted(rows, key=lambda r: -r["share"])


# --- the child's trends (rendered by sessions.views.pages.child_detail) -----------------------


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def child_trends_context(request: HttpRequest, child: Child) -> dict[str, Any]:
    """Template context of ``workspace/_child_trends.html``: filters, figure, table, markers."""
    date_from = _parse_date(request.GET.get("from"))
    date_to = _parse_date(request.GET.get("to"))
    kind = request.GET.get("kind") or None
    if kind not in SessionKind.values:
        kind = None
    trends = selectors.child_trends(
        child=child,
        sessions=access.sessions_visible_to(request.user),
        date_from=date_from,
        date_to=date_to,
        kind=kind,
    )
    return {
        "trends": trends,
        "trend_rows": _trend_rows(trends["points"]),
        "trend_figure": charts.trends_figure(trends),
        "trend_filters": {
            "from": date_from,
            "to": date_to,
            "kind": kind or "",
            "invalid": bool(
                (request.GET.get("from") and not date_from)
                or (request.GET.get("to") and not date_to)
            ),
        },
        "session_kinds": SessionKind.choices,
        "marker_kinds": MarkerKind.choices,
        "trend_metrics": TrendMetric.choices,
        "can_edit_trends": access.is_therapist_of(request.user, child),
        "marker_form": _marker_form_state(request, child),
    }


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}".replace("-", "\u2212")


def _trend_rows(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend table's cells, formatted here: 52 rows of template filters cost more than
    the whole chart."""
    rows = []
    for p in points:
        main = sorted(
            ((share, label) for label, share in p["emotion_shares"].items() if share >= 0.1),
            reverse=True,
        )
        rows.append(
            {
                "session_id": p["session_id"],
                "date": p["date"].isoformat(),
                "kind": str(p["kind"]).capitalize(),
                "corrected": p["corrected"],
                "talk_share": "—" if p["talk_share"] is None else f"{p['talk_share']:.0%}",
                "valence": f"{_signed(p['valence_mean'])} ± {p['valence_sd'] or 0:.2f}",
                "arousal": f"{_signed(p['arousal_mean'])} ± {p['arousal_sd'] or 0:.2f}",
                "emotions": ", ".join(f"{label} {share:.0%}" for share, label in main),
            }
        )
    return rows


_MARKER_FORM_KEY = "workspace:marker-form"


@login_required
@require_POST
def marker_create(request: HttpRequest, child_id: str) -> HttpResponse:
    """Add a phase line or goal. When it cannot be added, the child page opens again with the
    form open, the input kept and each error beside its field (kept in the session for that
    one page view: post, redirect, get)."""
    child = access.get_child_for_user(request.user, child_id, write=True)
    form = TrendMarkerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            markers.marker_create(
                child=child,
                kind=data["kind"],
                day=data["date"],
                label=data["label"],
                metric=data["metric"],
                target=data["target"],
                created_by=request.user,
                request=request,
            )
        except markers.MarkerDuplicate as exc:
            form.add_error("date", str(exc))
        except ValueError as exc:
            form.add_error(None, str(exc))
    if form.errors:
        request.session[_MARKER_FORM_KEY] = {
            "child": str(child.pk),
            "values": {
                name: str(request.POST.get(name, ""))[:200] for name in TrendMarkerForm.base_fields
            },
            "errors": {name: [str(e) for e in errs] for name, errs in form.errors.items()},
        }
        messages.error(request, "The marker was not added: see the form below.")
        return redirect(f"{_child_url(child)}#marker-form")
    messages.success(request, "Marker added to the trend charts.")
    return redirect(f"{_child_url(child)}#trends")


def _marker_form_state(request: HttpRequest, child: Child) -> dict[str, Any] | None:
    """The refused marker form to show again (once), if it was for this child."""
    state = request.session.pop(_MARKER_FORM_KEY, None)
    if not isinstance(state, dict) or state.get("child") != str(child.pk):
        return None
    errors = state.get("errors") or {}
    return {
        "values": state.get("values") or {},
        "errors": errors,
        "general": errors.get("__all__", []),
    }


@login_required
@require_POST
def marker_delete(request: HttpRequest, child_id: str, marker_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id, write=True)
    marker = access.get_marker_for_user(request.user, child, marker_id)
    markers.marker_delete(marker=marker, actor=request.user, request=request)
    messages.success(request, "Marker removed.")
    return redirect(f"{_child_url(child)}#trends")


def _child_url(child: Child) -> str:
    from django.urls import reverse

    return reverse("child_detail", kwargs={"child_id": child.pk})


# --- exports ------------------------------------------------------------------------------------

EXPORTS = {"segments.csv", "timeline.csv", "analysis.json"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@login_required
@require_GET
def export(request: HttpRequest, recording_id: str, filename: str) -> HttpResponse:
    """CSV of the corrected segments, CSV of the per-window timeline, or both as JSON."""
    if filename not in EXPORTS:
        raise Http404("Not found.")
    recording = access.get_recording_for_user(request.user, recording_id)
    child = recording.session.child
    can_read_notes = access.is_therapist_of(request.user, child)
    workspace = selectors.recording_workspace(recording)
    if workspace["run"] is None:
        raise Http404("This recording has no finished analysis to export yet.")
    segments = workspace["segments"]
    frames = workspace["frames"]
    stem = f"{child.code}_{recording.session.date:%Y-%m-%d}_{str(recording.pk)[:8]}"
    segment_fields = [
        "index",
        "start_s",
        "end_s",
        "speaker",
        # How sure the analysis is of the speaker's role (empty where a therapist set it), and
        # the voice ("A", "B", ...) the segment belongs to.
        "speaker_confidence",
        "cluster",
        "emotion",
        "confidence",
        "model_confidence",
        "uncertain",
        "uncertain_reason",
        "valence",
        "arousal",
        # "model", or "label_mapping" where a therapist set the emotion: then valence and
        # arousal are the label's fixed point (analysis.engine.labels.VALENCE_AROUSAL), not a
        # measurement (docs/workspace.md).
        "va_source",
        "corrected",
        "model_speaker",
        "model_emotion",
        "edited_by",
        "edited_at",
    ]
    if can_read_notes:
        segment_fields.append("note")
    if filename == "segments.csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(segment_fields)
        for seg in segments:
            writer.writerow([_cell(seg.get(name)) for name in segment_fields])
        body, content_type, rows = buffer.getvalue(), "text/csv; charset=utf-8", len(segments)
    elif filename == "timeline.csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["start_s", "end_s", "speaker", "valence", "arousal", *CANONICAL_LABELS])
        for frame in frames:
            probabilities = frame.get("probabilities") or {}
            writer.writerow(
                [
                    frame.get("start_s"),
                    frame.get("end_s"),
                    _cell(frame.get("speaker")),
                    frame.get("valence"),
                    frame.get("arousal"),
                    *(probabilities.get(label, 0.0) for label in CANONICAL_LABELS),
                ]
            )
        body, content_type, rows = buffer.getvalue(), "text/csv; charset=utf-8", len(frames)
    else:
        document = {
            "recording": str(recording.pk),
            "child": child.code,
            "session_date": recording.session.date.isoformat(),
            "duration_s": workspace["duration_s"],
            "model_version": workspace["model_version"],
            "segments": [{k: seg.get(k) for k in segment_fields} for seg in segments],
            "frames": frames,
        }
        body = json.dumps(document, ensure_ascii=False, indent=1)
        content_type, rows = "application/json", len(segments) + len(frames)
    audit.record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=recording,
        child=child,
        request=request,
        detail={"format": filename, "rows": rows},
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem}_{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
