"""Reads of voice prints and speaker lanes.

A person's print as the analysis uses it is their stored print (a therapist's enrolment, a
child's print from practice) improved by the lanes a therapist named as them: each active
naming adds its lane's centroid, weighted by the lane's speech time (at most
``NAMED_LANE_MAX_S``), to the stored print weighted by its own speech time. Computed when read,
so undoing a naming, or erasing the recording it came from, takes its contribution away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np

from analysis.engine.labels import SPEAKER_ROLE_LABELS
from analysis.models import AnalysisRun, ChildVoicePrint, LaneNaming, SpeakerLane, VoiceEnrollment
from sessions import audit
from sessions.models import Child, TherapySession
from sessions.models.audit import AuditAction

NAMED_LANE_MAX_S = 60.0
OTHER = "other"


@dataclass(frozen=True)
class Voice:
    """A participant's print as the analysis matches it (``KnownVoice`` fields, plain lists)."""

    key: str
    role: str
    name: str
    embedding: list[float]


def therapist_key(user_id: UUID) -> str:
    return f"therapist:{user_id}"


def child_key(child_id: UUID) -> str:
    return f"child:{child_id}"


def parse_key(key: str) -> tuple[str, str]:
    """("therapist" | "child" | "other", pk or "")."""
    role, _, pk = key.partition(":")
    return role, pk


def _l2(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def active_namings(*, person_key: str | None = None, run: AnalysisRun | None = None) -> list[Any]:
    """Namings whose correction batch still has an active segment correction (not undone)."""
    from sessions.workspace.models import SegmentEdit

    namings = LaneNaming.objects.select_related("lane__run")
    if person_key is not None:
        namings = namings.filter(person_key=person_key)
    if run is not None:
        namings = namings.filter(lane__run=run)
    batches = set(
        SegmentEdit.objects.filter(
            batch__in=namings.values("batch"), superseded_at__isnull=True
        ).values_list("batch", flat=True)
    )
    return [n for n in namings.order_by("-created_at") if n.batch in batches]


def improved_print(
    base: Iterable[float] | None, base_s: float, person_key: str
) -> np.ndarray | None:
    """``base`` (speech-weighted) plus the centroids of the lanes named as ``person_key``,
    one per recording (its newest naming), L2-normalised. None without either."""
    total = np.zeros(0)
    if base is not None:
        total = np.asarray(list(base), dtype=np.float64) * max(base_s, 1.0)
    seen: set[Any] = set()
    for naming in active_namings(person_key=person_key):
        lane = naming.lane
        recording_id = lane.run.recording_id
        if recording_id in seen or not lane.centroid:
            continue
        seen.add(recording_id)
        centroid = np.asarray(lane.centroid, dtype=np.float64)
        if total.size and centroid.shape != total.shape:
            continue
        weight = min(float(lane.speech_s), NAMED_LANE_MAX_S)
        total = centroid * weight if not total.size else total + centroid * weight
    if not total.size or not np.any(total):
        return None
    return _l2(total).astype(np.float32)


def child_print(*, child: Child, purpose: str) -> np.ndarray | None:
    """The child's print for the analysis of a recording, read only with recording consent;
    the read is audited (no actor: the analysis worker reads it)."""
    from sessions.families.consent import has_consent

    if not has_consent(child, "recording"):
        return None
    stored = ChildVoicePrint.objects.filter(child=child).first()
    embedding = improved_print(
        stored.embedding if stored else None,
        stored.speech_s if stored else 0.0,
        child_key(child.pk),
    )
    if embedding is not None:
        audit.record(
            actor=None,
            action=AuditAction.VIEW,
            object_type="childvoiceprint",
            object_id=child.pk,
            child=child,
            detail={"purpose": purpose},
        )
    return embedding


def child_print_status(child: Child) -> dict[str, Any] | None:
    """How the child's print was learnt (attempt count, last update), for the child's page;
    None without one. Reads no embedding."""
    row = (
        ChildVoicePrint.objects.filter(child=child)
        .values("attempt_count", "speech_s", "updated_at")
        .first()
    )
    return dict(row) if row is not None else None


def therapist_print(user_id: UUID) -> np.ndarray | None:
    """A therapist's enrolled print, improved by the lanes named as them. Only with an
    enrolment: enrolling is the therapist's own choice, and forgetting it (*My voice*) stops
    every use of their voice, named lanes included."""
    stored = VoiceEnrollment.objects.filter(user_id=user_id).first()
    if stored is None:
        return None
    return improved_print(stored.embedding, stored.speech_s, therapist_key(user_id))


def session_voices(session: TherapySession) -> list[Voice]:
    """The prints of everyone who took part in ``session``: therapists' enrolments and
    children's practice prints (each improved by lanes named as them)."""
    voices: list[Voice] = []
    for therapist in session.participant_therapists():
        embedding = therapist_print(therapist.pk)
        if embedding is not None:
            voices.append(
                Voice(therapist_key(therapist.pk), "therapist", str(therapist), embedding.tolist())
            )
    for child in session.participant_children():
        embedding = child_print(child=child, purpose=f"analysis of session {session.pk}")
        if embedding is not None:
            role = role_of_key(child_key(child.pk), session)
            voices.append(Voice(child_key(child.pk), role, child.given_name, embedding.tolist()))
    return voices


def expected_speakers(session: TherapySession) -> int:
    return len(session.participant_children()) + len(session.participant_therapists())


def participant_choices(session: TherapySession) -> list[tuple[str, str]]:
    """(person key, what the naming prompt shows) for everyone a lane may be named as."""
    choices = [(child_key(c.pk), c.display_name) for c in session.participant_children()]
    choices += [(therapist_key(t.pk), f"{t} (therapist)") for t in session.participant_therapists()]
    choices.append((OTHER, "Someone else"))
    return choices


def role_of_key(key: str, session: TherapySession) -> str:
    """The role a participant speaks in within ``session``: "child" is the session's own child
    (every per-child figure of the session counts that role); another child of a group session
    is "other" on a lane of their own, with their name; any therapist is "therapist"."""
    role, pk = parse_key(key)
    if role == "child":
        return "child" if pk == str(session.child_id) else OTHER
    return "therapist" if role == "therapist" else OTHER


def run_lanes(run: AnalysisRun, session: TherapySession) -> list[dict[str, Any]]:
    """The run's voices for the workspace: label, role, confidence, who it is and whether a
    therapist still has to name it (``needs_name``: no print matched and nobody named it)."""
    names = dict(participant_choices(session))
    named: dict[Any, Any] = {}
    for naming in active_namings(run=run):
        named.setdefault(naming.lane_id, naming)
    lanes = []
    for lane in SpeakerLane.objects.filter(run=run).order_by("label"):
        naming = named.get(lane.pk)
        key = naming.person_key if naming else lane.voice_key
        role = naming.role if naming else lane.role
        person = names.get(key, "") if key else ""
        lanes.append(
            {
                "label": lane.label,
                "role": role,
                "role_label": SPEAKER_ROLE_LABELS.get(role, role),
                "role_confidence": None if naming else round(lane.role_confidence, 3),
                "person_key": key or "",
                "person": person,
                "display": person or f"Speaker {lane.label}",
                "named_by_therapist": naming is not None,
                "needs_name": naming is None and not lane.voice_key,
                "speech_s": round(lane.speech_s, 1),
            }
        )
    return lanes
