"""Session-level numbers a therapist reads first: who talked how much, in which emotions.

Everything is weighted by time, not by turn count, because one long calm explanation and one
two-word angry outburst should not count the same. ``emotion_share`` uses each turn's label
(uncertain turns included, and their share reported separately as ``uncertain_share``) so the
shares add up to 1 over a speaker's speech. Every canonical label and every role is always
present, with zeros, so charts and reports never have to guess the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.engine.emotion.turns import TurnEmotion
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.speakers.diarization import ROLES


def _group_stats(turns: Sequence[TurnEmotion], all_speech_s: float) -> dict[str, Any]:
    speech_s = float(sum(t.duration_s for t in turns))
    share = dict.fromkeys(CANONICAL_LABELS, 0.0)
    uncertain_s = 0.0
    valence = arousal = 0.0
    for t in turns:
        share[t.emotion] += t.duration_s
        uncertain_s += t.duration_s if t.uncertain else 0.0
        valence += t.valence * t.duration_s
        arousal += t.arousal * t.duration_s
    if speech_s > 0:
        share = {label: round(value / speech_s, 4) for label, value in share.items()}
    dominant = max(share, key=lambda label: share[label]) if speech_s > 0 else None
    # workspace: the time-weighted spread of valence and arousal, for the trend charts.
    sd = {"valence": 0.0, "arousal": 0.0}
    if speech_s > 0:
        for name, total in (("valence", valence), ("arousal", arousal)):
            mean = total / speech_s
            var = sum(t.duration_s * (getattr(t, name) - mean) ** 2 for t in turns) / speech_s
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


def summarize(turns: Sequence[TurnEmotion], duration_s: float) -> dict[str, Any]:
    """JSON-ready summary of a recording: overall and per role (child, therapist, other)."""
    speech_s = float(sum(t.duration_s for t in turns))
    return {
        "duration_s": round(duration_s, 3),
        "speech_s": round(speech_s, 3),
        "speech_ratio": round(speech_s / duration_s, 4) if duration_s > 0 else 0.0,
        "segment_count": len(turns),
        "overall": _group_stats(turns, speech_s),
        "speakers": {
            role: _group_stats([t for t in turns if t.speaker == role], speech_s) for role in ROLES
        },
    }
