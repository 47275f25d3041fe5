"""Writes of voice prints and speaker lanes.

Children's prints come from their home practice attempts (recordings of the child alone): with
recording consent, each finished attempt adds its print to the child's running mean. Only the
print is stored, never audio; it is deleted with the child's recordings when recording consent
is revoked (``sessions.families.services.child_recordings_erase``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from django.db import transaction
from django.http import HttpRequest

from analysis.models import AnalysisRun, ChildVoicePrint, LaneNaming, SpeakerLane
from sessions import audit
from sessions.models import Child
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

logger = logging.getLogger(__name__)

# Practice attempts are short: a second of speech already gives a usable d-vector, and the
# running mean over many attempts does the rest.
PRACTICE_MIN_SPEECH_S = 1.0


def _label(cluster: Any) -> str:
    if isinstance(cluster, str):
        return cluster[:4]
    if isinstance(cluster, int) and cluster >= 0:
        return chr(ord("A") + cluster) if cluster < 26 else f"Z{cluster - 25}"
    return ""


def segment_lane_labels(result: dict[str, Any]) -> list[str]:
    """The lane label ("A", ...) of each segment of a pipeline result document."""
    by_cluster = {lane.get("cluster"): lane.get("label") for lane in result.get("speakers") or []}
    labels = []
    for seg in result.get("segments", []):
        value = seg.get("label", seg.get("cluster"))
        labels.append(_label(by_cluster.get(value, value)))
    return labels


def lanes_store(
    *, run: AnalysisRun, result: dict[str, Any], centroids: Mapping[str, Sequence[float]]
) -> int:
    """Replace the run's speaker lanes with the result document's ``speakers`` (one per voice)
    and each voice's centroid (``centroids`` by label: the document leaves them out, they are
    biometric and stay with the run's rows, erased with the recording). Running it twice
    leaves the same rows; namings of lanes that no longer exist go with them."""
    lanes = result.get("speakers") or []
    labels = []
    for lane in lanes:
        label = _label(lane.get("label", lane.get("cluster")))
        if not label:
            continue
        labels.append(label)
        SpeakerLane.objects.update_or_create(
            run=run,
            label=label,
            defaults={
                "role": str(lane.get("role") or "unknown"),
                "role_confidence": float(lane.get("role_confidence") or 0.0),
                "voice_key": str(lane.get("voice_key") or ""),
                "speech_s": float(lane.get("speech_s") or 0.0),
                "centroid": [round(float(v), 6) for v in centroids.get(label, ())],
            },
        )
    SpeakerLane.objects.filter(run=run).exclude(label__in=labels).delete()
    return len(labels)


def _weighted_mean(
    old: Sequence[float] | None, old_s: float, new: np.ndarray, new_s: float
) -> np.ndarray:
    total = new.astype(np.float64) * new_s
    if old is not None and len(old) == new.size:
        total = total + np.asarray(old, dtype=np.float64) * old_s
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else total


def child_print_add(*, child: Child, samples: np.ndarray, attempt_id: Any) -> bool:
    """Add one practice attempt's print to ``child``'s voice print (speech-weighted running
    mean). Only with recording consent. Returns whether the print changed; an attempt already
    counted, too little speech or no consent change nothing, so running it twice is harmless."""
    from analysis.engine.speakers.diarization import enroll_embedding
    from analysis.engine.speech.segmentation import SAMPLE_RATE
    from sessions.families.consent import has_consent

    if not has_consent(child, "recording"):
        return False
    attempt = str(attempt_id)
    # Checked in Python, not with a JSON "contains" lookup: SQLite (the demo) has none.
    counted = ChildVoicePrint.objects.filter(child=child).values_list("attempt_ids", flat=True)
    if attempt in (counted.first() or []):
        return False
    # Weighted by the attempt's length (not its detected speech: that would run the VAD twice).
    speech_s = samples.size / SAMPLE_RATE
    try:
        embedding = enroll_embedding(samples, min_speech_s=PRACTICE_MIN_SPEECH_S)
    except ValueError:
        return False
    with transaction.atomic():
        stored = ChildVoicePrint.objects.select_for_update().filter(child=child).first()
        if stored is not None and attempt in stored.attempt_ids:
            return False
        # Checked again under the lock: a revocation may have run meanwhile.
        if not has_consent(child, "recording"):
            return False
        if stored is None:
            stored = ChildVoicePrint(child=child, embedding=[], attempt_ids=[])
        mean = _weighted_mean(stored.embedding or None, stored.speech_s, embedding, speech_s)
        stored.embedding = [round(float(v), 6) for v in mean]
        stored.speech_s = round(stored.speech_s + speech_s, 2)
        stored.attempt_count += 1
        stored.attempt_ids = [*stored.attempt_ids, attempt]
        stored.save()
        audit.record(
            actor=None,
            action=AuditAction.UPDATE,
            object_type="childvoiceprint",
            object_id=child.pk,
            child=child,
            detail={"attempts": stored.attempt_count},
        )
    return True


def child_print_delete(
    *, child: Child, actor: Actor | None, reason: str, request: HttpRequest | None = None
) -> bool:
    """Delete ``child``'s voice print (recording consent revoked, recordings erased). Returns
    whether there was one; running it again finds nothing."""
    deleted, _ = ChildVoicePrint.objects.filter(child=child).delete()
    if deleted:
        audit.record(
            actor=actor,
            action=AuditAction.DELETE,
            object_type="childvoiceprint",
            object_id=child.pk,
            child=child,
            request=request,
            detail={"reason": reason},
        )
    return bool(deleted)


def lane_naming_record(
    *, lane: SpeakerLane, person_key: str, role: str, batch: Any, author: Actor | None
) -> LaneNaming:
    """Store that ``author`` named ``lane`` as ``person_key`` with the segment corrections of
    ``batch`` (see ``sessions.workspace.lanes.lane_name``, which also writes the audit entry)."""
    return LaneNaming.objects.create(
        lane=lane, person_key=person_key, role=role, batch=batch, author=signed_in(author)
    )
