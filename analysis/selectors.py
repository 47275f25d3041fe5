"""Reads of analysis results, shaped for the API and the dashboard."""

from __future__ import annotations

from typing import Any

from analysis.models import AnalysisRun, RunFrames, RunStatus
from sessions.models import Recording


def latest_run(recording: Recording) -> AnalysisRun | None:
    return (
        AnalysisRun.objects.filter(recording=recording)
        .select_related("model_version")
        .order_by("-created_at")
        .first()
    )


def results_run(recording: Recording) -> AnalysisRun | None:
    """The newest finished run: what the dashboard shows while a re-analysis is under way."""
    return (
        AnalysisRun.objects.filter(recording=recording, status=RunStatus.DONE)
        .select_related("model_version")
        .order_by("-finished_at")
        .first()
    )


def _version_label(run: AnalysisRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    version = run.model_version
    return {"id": str(version.pk), "name": version.name, "version": version.version}


def recording_status(recording: Recording) -> dict[str, Any]:
    latest = latest_run(recording)
    done = results_run(recording)
    error = ""
    if recording.status in {"failed", "quarantined", "awaiting_consent"}:
        error = recording.status_detail or (latest.error if latest else "")
    return {
        "id": str(recording.pk),
        "session": str(recording.session_id),
        "original_name": recording.original_name,
        "sha256": recording.sha256,
        "size_bytes": recording.size_bytes,
        "created_at": recording.created_at.isoformat(),
        "status": recording.status,
        # The newest analysis run (queued, running or finished): a client that asked for a
        # re-analysis can tell whether it got a new run or the one already under way.
        "run_id": str(latest.pk) if latest else None,
        "stage": latest.stage if latest else recording.status,
        "progress": latest.progress if latest else 0,
        "attempts": latest.attempts if latest else 0,
        "error": error,
        "duration_s": recording.duration_s,
        "audio_available": bool(recording.file) and recording.audio_deleted_at is None,
        "model_version": _version_label(done),
        "pending_model_version": (
            _version_label(latest) if latest is not None and latest != done else None
        ),
        "no_speech": bool(done and done.no_speech),
        "summary": done.summary if done else None,
    }


def segment_dicts(run: AnalysisRun) -> list[dict[str, Any]]:
    return [
        {
            "id": str(seg.pk),
            "index": seg.index,
            "start_s": seg.start_s,
            "end_s": seg.end_s,
            "speaker": seg.speaker,
            "speaker_confidence": seg.speaker_confidence,
            "cluster": seg.cluster,
            "emotion": seg.emotion,
            "confidence": seg.confidence,
            "uncertain": seg.uncertain,
            "uncertain_reason": seg.uncertain_reason,
            "quality": seg.quality,
            "valence": seg.valence,
            "arousal": seg.arousal,
            "probabilities": seg.probabilities,
        }
        for seg in run.segments.order_by("index")
    ]


def timeline(recording: Recording) -> dict[str, Any]:
    """Model output of the newest finished run: segments and per-window frames."""
    run = results_run(recording)
    if run is None:
        return {
            "run": None,
            "model_version": None,
            "segments": [],
            "frames": [],
            "no_speech": False,
        }
    frames = RunFrames.objects.filter(run=run).values_list("frames", flat=True).first() or []
    return {
        "run": str(run.pk),
        "model_version": _version_label(run),
        "no_speech": run.no_speech,
        "segments": segment_dicts(run),
        "frames": frames,
    }


def child_baseline_effect(child: Any) -> dict[str, Any] | None:
    """What the child's voice baseline did in their latest analysed recording that used one
    (``summary.baseline.child`` of the run, see ``analysis.engine.pipeline.baseline_effect``)."""
    runs = AnalysisRun.objects.filter(
        recording__session__child=child, status=RunStatus.DONE
    ).order_by("-finished_at")
    for summary in runs.values_list("summary", flat=True)[:20]:
        effect = (summary or {}).get("baseline", {}) or {}
        if effect.get("child"):
            return dict(effect["child"])
    return None
