"""How therapist corrections combine with model output (plain Python, no Django).

A run's *effective* segments are its model segments with every stretch a therapist corrected
replaced by the therapist's version. Services decide which edits exist; this module only
combines and checks, so the dashboard, exports, summaries and the training selector all see one
consistent answer. The corrected summary is the engine's own
(``analysis.engine.emotion.summary.summarize`` over ``stretches`` of the effective segments).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.engine.labels import CANONICAL_LABELS, SPEAKER_ROLES, VALENCE_AROUSAL

# The engine's roles (analysis.engine.labels), "unknown" included: a lane nobody named yet.
SPEAKERS: tuple[str, ...] = SPEAKER_ROLES
MIN_SEGMENT_S = 0.2
MODEL_PREFIX = "m:"
EDIT_PREFIX = "e:"
# Where a segment's valence/arousal come from: the model's estimate for that stretch, or the
# fixed point of a therapist's label in ``VALENCE_AROUSAL`` (a convention, not a measurement).
VA_MODEL = "model"
VA_LABEL_MAPPING = "label_mapping"


class CorrectionError(ValueError):
    """A correction that cannot be applied; the message is shown to the therapist."""


@dataclass(frozen=True)
class EditRow:
    """The fields of an active ``SegmentEdit`` this module needs."""

    id: str
    start_s: float
    end_s: float
    speaker: str
    emotion: str
    speaker_by_therapist: bool
    emotion_by_therapist: bool
    note: str
    source_segment_ids: tuple[str, ...]
    author: str
    edited_at: str
    operation: str


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def effective_segments(
    model_segments: Sequence[Mapping[str, Any]], edits: Iterable[EditRow]
) -> list[dict[str, Any]]:
    """Model segments with corrected stretches replaced, in time order.

    ``model_segments`` are dicts as ``analysis.selectors.segment_dicts`` gives them. Each result
    carries ``key`` (``m:<segment id>`` or ``e:<edit id>``), the labels to show, the model's own
    labels for the same stretch (``model_speaker``/``model_emotion``, from the source segment
    that overlaps most) and which parts a therapist changed.
    """
    by_id = {str(s["id"]): s for s in model_segments}
    covered: set[str] = set()
    out: list[dict[str, Any]] = []
    for edit in edits:
        covered.update(edit.source_segment_ids)
        sources = [by_id[i] for i in edit.source_segment_ids if i in by_id]
        main = max(
            sources,
            key=lambda s: _overlap(s["start_s"], s["end_s"], edit.start_s, edit.end_s),
            default=None,
        )
        model_speaker = main["speaker"] if main else None
        model_emotion = main["emotion"] if main else None
        boundaries_changed = not (
            len(sources) == 1
            and math.isclose(sources[0]["start_s"], edit.start_s, abs_tol=1e-3)
            and math.isclose(sources[0]["end_s"], edit.end_s, abs_tol=1e-3)
        )
        speaker_changed = edit.speaker != model_speaker
        emotion_changed = edit.emotion != model_emotion
        va = VALENCE_AROUSAL.get(edit.emotion, (0.0, 0.0))
        model_confident = main is not None and not emotion_changed and not edit.emotion_by_therapist
        # Valence/arousal of a label a therapist set are not measured: they come from the
        # label's fixed point in VALENCE_AROUSAL (docs/workspace.md), and say so (va_source).
        va_source = VA_MODEL if model_confident and main else VA_LABEL_MAPPING
        out.append(
            {
                "key": EDIT_PREFIX + edit.id,
                "start_s": edit.start_s,
                "end_s": edit.end_s,
                "speaker": edit.speaker,
                # The voice (lane "A", "B", ...) of the source segment it came from.
                "cluster": main.get("cluster", "") if main else "",
                "emotion": edit.emotion,
                # A label the therapist set is not a model estimate: no confidence, not uncertain.
                "confidence": main["confidence"] if model_confident and main else None,
                # The model's own confidence in its own label, kept visible after a correction.
                "model_confidence": main["confidence"] if main else None,
                "speaker_confidence": (
                    main["speaker_confidence"]
                    if main and not speaker_changed and not edit.speaker_by_therapist
                    else None
                ),
                "uncertain": bool(main["uncertain"]) if model_confident and main else False,
                "uncertain_reason": (
                    main.get("uncertain_reason", "") if model_confident and main else ""
                ),
                "valence": main["valence"] if model_confident and main else va[0],
                "arousal": main["arousal"] if model_confident and main else va[1],
                "va_source": va_source,
                "model_speaker": model_speaker,
                "model_emotion": model_emotion,
                "speaker_corrected": speaker_changed,
                "emotion_corrected": emotion_changed,
                "emotion_by_therapist": edit.emotion_by_therapist,
                "boundaries_changed": boundaries_changed,
                "corrected": speaker_changed or emotion_changed or boundaries_changed,
                "note": edit.note,
                "edited_by": edit.author,
                "edited_at": edit.edited_at,
                "operation": edit.operation,
                "source_segment_ids": list(edit.source_segment_ids),
            }
        )
    for seg in model_segments:
        if str(seg["id"]) in covered:
            continue
        out.append(
            {
                "key": MODEL_PREFIX + str(seg["id"]),
                "start_s": seg["start_s"],
                "end_s": seg["end_s"],
                "speaker": seg["speaker"],
                "cluster": seg.get("cluster", ""),
                "emotion": seg["emotion"],
                "confidence": seg["confidence"],
                "model_confidence": seg["confidence"],
                "speaker_confidence": seg["speaker_confidence"],
                "uncertain": bool(seg["uncertain"]),
                "uncertain_reason": seg.get("uncertain_reason", ""),
                "valence": seg["valence"],
                "arousal": seg["arousal"],
                "va_source": VA_MODEL,
                "model_speaker": seg["speaker"],
                "model_emotion": seg["emotion"],
                "speaker_corrected": False,
                "emotion_corrected": False,
                "emotion_by_therapist": False,
                "boundaries_changed": False,
                "corrected": False,
                "note": "",
                "edited_by": "",
                "edited_at": "",
                "operation": "",
                "source_segment_ids": [str(seg["id"])],
            }
        )
    out.sort(key=lambda s: (s["start_s"], s["end_s"]))
    for index, seg in enumerate(out):
        seg["index"] = index
    return out


def find(segments: Sequence[Mapping[str, Any]], key: str) -> Mapping[str, Any]:
    for seg in segments:
        if seg["key"] == key:
            return seg
    raise CorrectionError(
        "That segment no longer exists: the page may be out of date. Reload it and try again."
    )


def check_labels(speaker: str | None, emotion: str | None) -> None:
    if speaker is not None and speaker not in SPEAKERS:
        raise CorrectionError(f"Unknown speaker “{speaker}”.")
    if emotion is not None and emotion not in CANONICAL_LABELS:
        raise CorrectionError(f"Unknown emotion “{emotion}”.")


def check_split(segment: Mapping[str, Any], at_s: float) -> float:
    """The split time, if both parts keep at least ``MIN_SEGMENT_S``."""
    if not math.isfinite(at_s):
        raise CorrectionError("Choose a time inside the segment to split at.")
    start, end = float(segment["start_s"]), float(segment["end_s"])
    if at_s - start < MIN_SEGMENT_S or end - at_s < MIN_SEGMENT_S:
        raise CorrectionError(
            f"Split inside the segment, at least {MIN_SEGMENT_S:.1f} s from either end "
            f"(between {start + MIN_SEGMENT_S:.1f} s and {end - MIN_SEGMENT_S:.1f} s)."
        )
    return round(at_s, 3)


def check_move(
    segments: Sequence[Mapping[str, Any]],
    key: str,
    start_s: float | None,
    end_s: float | None,
    duration_s: float | None,
) -> tuple[float, float]:
    """New boundaries for segment ``key``: inside the recording, at least ``MIN_SEGMENT_S``
    long and not over the segments before or after it in the list (merge those instead)."""
    seg = find(segments, key)
    start = float(seg["start_s"] if start_s is None else start_s)
    end = float(seg["end_s"] if end_s is None else end_s)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise CorrectionError("Give the new start and end as times in seconds.")
    limit = float(duration_s) if duration_s else math.inf
    if start < 0 or end > limit + 1e-3:
        raise CorrectionError("A segment cannot reach outside the recording.")
    if end - start < MIN_SEGMENT_S:
        raise CorrectionError(f"A segment must be at least {MIN_SEGMENT_S:.1f} s long.")
    # Segments of different speakers may overlap (people talk over each other); one speaker's
    # segments may not.
    for other in segments:
        if other["key"] == key or other["speaker"] != seg["speaker"]:
            continue
        o0, o1 = float(other["start_s"]), float(other["end_s"])
        if _overlap(start, end, o0, o1) > 1e-3:
            raise CorrectionError(
                "The segment would overlap another one of the same speaker "
                f"({o0:.1f} to {o1:.1f} s): merge them instead, or move that one first."
            )
    return round(start, 3), min(round(end, 3), limit)


def next_segment(segments: Sequence[Mapping[str, Any]], key: str) -> Mapping[str, Any]:
    for i, seg in enumerate(segments):
        if seg["key"] == key:
            if i + 1 >= len(segments):
                raise CorrectionError("This is the last segment: there is nothing to merge with.")
            return segments[i + 1]
    raise CorrectionError("That segment no longer exists: reload the page and try again.")
