"""Session-level numbers a therapist reads first: who talked how much, in which emotions.

Everything is weighted by time, not by turn count, because one long calm explanation and one
two-word angry outburst should not count the same. ``emotion_share`` uses each turn's label
(uncertain turns included, and their share reported separately as ``uncertain_share``) so the
shares add up to 1 over a speaker's speech. Every canonical label and every role is always
present, with zeros, so charts and reports never have to guess the shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.labels import SPEAKER_ROLES as ROLES

# Importing this module costs no torch (tests/sessions/test_one_copy.py checks it): web
# processes summarise corrected timelines with it.


class LabelledStretch(Protocol):
    """What a summary reads of a stretch of speech: a pipeline ``TurnEmotion`` or a
    ``Stretch`` made from a stored or corrected segment."""

    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...
    @property
    def speaker(self) -> str: ...
    @property
    def emotion(self) -> str: ...
    @property
    def uncertain(self) -> bool: ...
    @property
    def valence(self) -> float: ...
    @property
    def arousal(self) -> float: ...


@dataclass(frozen=True)
class Stretch:
    start_s: float
    end_s: float
    speaker: str
    emotion: str
    uncertain: bool
    valence: float
    arousal: float


def stretches(segments: Iterable[Mapping[str, Any]]) -> list[Stretch]:
    """Segment dicts (stored segments, or a corrected timeline's effective segments) as
    stretches ``summarize`` reads."""
    return [
        Stretch(
            start_s=float(s["start_s"]),
            end_s=float(s["end_s"]),
            speaker=str(s["speaker"]),
            emotion=str(s["emotion"]),
            uncertain=bool(s.get("uncertain")),
            valence=float(s["valence"]),
            arousal=float(s["arousal"]),
        )
        for s in segments
    ]


def _length(t: LabelledStretch) -> float:
    return max(0.0, t.end_s - t.start_s)


def _role(t: LabelledStretch) -> str:
    # A speaker outside the roles (an old label) counts as "other", so shares still add up.
    return t.speaker if t.speaker in ROLES else "other"


def _group_stats(turns: Sequence[LabelledStretch], all_speech_s: float) -> dict[str, Any]:
    speech_s = float(sum(_length(t) for t in turns))
    share = dict.fromkeys(CANONICAL_LABELS, 0.0)
    uncertain_s = 0.0
    valence = arousal = 0.0
    for t in turns:
        length = _length(t)
        share[t.emotion] = share.get(t.emotion, 0.0) + length
        uncertain_s += length if t.uncertain else 0.0
        valence += t.valence * length
        arousal += t.arousal * length
    if speech_s > 0:
        share = {label: round(value / speech_s, 4) for label, value in share.items()}
    dominant = max(share, key=lambda label: share[label]) if speech_s > 0 else None
    # workspace: the time-weighted spread of valence and arousal, for the trend charts.
    sd = {"valence": 0.0, "arousal": 0.0}
    if speech_s > 0:
        for name, total in (("valence", valence), ("arousal", arousal)):
            mean = total / speech_s
            var = sum(_length(t) * (getattr(t, name) - mean) ** 2 for t in turns) / speech_s
            sd[name] = round(var**0.5, 4)
    return {
        "speech_s": round(speech_s, 3),
        "talk_share": round(speech_s / all_speech_s, 4) if all_speech_s > 0 else 0.0,
        "segment_count": len(turns),
        "emotion_share": share,
        "dominant_emotion": dominant,
        "uncertain_share": round(uncertain_s / speech_s, 4) if speech_s > 0 else 0.0,
        "mean_valence": round(valence / speech_s, 4) if speech_s > 0 else 0.0,
        "mean_arousal": round(arousal / speech_s, 4) if speech_s > 0 else 0.0,
        "sd_valence": sd["valence"],
        "sd_arousal": sd["arousal"],
    }


def summarize(turns: Sequence[LabelledStretch], duration_s: float | None) -> dict[str, Any]:
    """JSON-ready summary of a recording: overall and per role (child, therapist, other).

    The one summary of the portal: the pipeline's (``TurnEmotion`` turns) and the corrected
    one the workspace stores (``stretches`` of the effective segments) have the same shape and
    the same rules."""
    speech_s = float(sum(_length(t) for t in turns))
    duration = float(duration_s or 0.0)
    return {
        "duration_s": round(duration, 3),
        "speech_s": round(speech_s, 3),
        "speech_ratio": round(speech_s / duration, 4) if duration > 0 else 0.0,
        "segment_count": len(turns),
        "overall": _group_stats(turns, speech_s),
        "speakers": {
            role: _group_stats([t for t in turns if _role(t) == role], speech_s) for role in ROLES
        },
    }


# --- several recordings' summaries together --------------------------------------------------


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def role_figures(summary: Mapping[str, Any] | None, role: str) -> dict[str, Any] | None:
    """One role's figures from a stored summary (``summarize``'s shape), under the names the
    session figures use; None when the summary has no part for the role."""
    stats = ((summary or {}).get("speakers") or {}).get(role)
    if not isinstance(stats, Mapping):
        return None
    return {
        "speech_s": _finite(stats.get("speech_s")) or 0.0,
        "talk_share": _finite(stats.get("talk_share")),
        "segments": int(_finite(stats.get("segment_count")) or 0),
        "emotion_shares": {
            k: float(v)
            for k, v in (stats.get("emotion_share") or {}).items()
            if k in CANONICAL_LABELS and _finite(v) is not None
        },
        "valence_mean": _finite(stats.get("mean_valence")),
        "valence_sd": _finite(stats.get("sd_valence")),
        "arousal_mean": _finite(stats.get("mean_arousal")),
        "arousal_sd": _finite(stats.get("sd_arousal")),
    }


def _pool(
    parts: Sequence[tuple[float | None, float | None, float]],
) -> tuple[float | None, float | None]:
    """Pooled mean and sd of (mean, sd, weight) groups."""
    usable = [(m, s or 0.0, w) for m, s, w in parts if m is not None and w > 0]
    total = sum(w for _, _, w in usable)
    if not usable or total <= 0:
        return None, None
    mean = sum(m * w for m, _, w in usable) / total
    var = sum(w * (s * s + (m - mean) ** 2) for m, s, w in usable) / total
    return round(mean, 4), round(math.sqrt(var), 4)


def combine(
    summaries: Iterable[Mapping[str, Any] | None], roles: Sequence[str] = ROLES
) -> dict[str, dict[str, Any]] | None:
    """Each role's figures over several recordings' summaries (a session, a report period),
    weighted by speech time: the one rule behind the therapist's session panel and trends and
    the family's progress report. None when no summary is given.

    ``talk_share`` is the role's speech over everyone's speech in those recordings; means and
    spreads are pooled; shares and means are rounded to 4 places, seconds to 3."""
    usable = [s for s in summaries if s]
    if not usable:
        return None
    per_role = {role: [role_figures(s, role) for s in usable] for role in roles}
    total_speech = sum((st or {}).get("speech_s", 0.0) for sts in per_role.values() for st in sts)
    combined: dict[str, dict[str, Any]] = {}
    for role, figures in per_role.items():
        spoken = [f for f in figures if f and f["speech_s"] > 0]
        speech = sum(f["speech_s"] for f in spoken)
        shares: dict[str, float] = {}
        for f in spoken:
            for label, share in f["emotion_shares"].items():
                shares[label] = shares.get(label, 0.0) + share * f["speech_s"]
        valence = _pool([(f["valence_mean"], f["valence_sd"], f["speech_s"]) for f in spoken])
        arousal = _pool([(f["arousal_mean"], f["arousal_sd"], f["speech_s"]) for f in spoken])
        combined[role] = {
            "speech_s": round(speech, 3),
            "talk_share": round(speech / total_speech, 4) if total_speech else None,
            "segments": sum(f["segments"] for f in spoken),
            "emotion_shares": (
                {k: round(v / speech, 4) for k, v in shares.items()} if speech else {}
            ),
            "valence_mean": valence[0],
            "valence_sd": valence[1],
            "arousal_mean": arousal[0],
            "arousal_sd": arousal[1],
        }
    return combined
