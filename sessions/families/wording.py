"""Plain-language wording of report figures for families: no jargon, no raw probabilities.

One place decides how a number becomes a sentence, so the web page and the PDF say the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DISCLAIMER = (
    "These figures come from a computer's estimate of how a voice sounds. They are a rough "
    "guide: they support, and never replace, what your child's therapist sees and hears."
)


def about(share: float | None) -> str:
    """A share as a rounded percentage ("about 60%"); steps of 5 so it never looks precise."""
    if share is None:
        return "not known"
    return f"about {int(round(share * 20) * 5)}%"


def sessions_phrase(count: int) -> str:
    return "1 session" if count == 1 else f"{count} sessions"


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def at_a_glance(data: Mapping[str, Any], name: str) -> list[str]:
    """Three to five short sentences summarising a report for the family."""
    overall = data.get("overall")
    count = int(data.get("session_count", 0))
    analysed = int(data.get("sessions_with_data", 0))
    if not overall:
        return [
            f"This report covers {sessions_phrase(count)}. There were no voice recordings to "
            "look at in this period, so the report has no voice figures."
        ]
    mood = overall["mood"]
    sentences = [
        f"This report covers {sessions_phrase(count)}"
        + (
            f", {analysed} of them with a recording we could look at." if analysed != count else "."
        ),
        f"When {name} spoke, the voice sounded calm or neutral {about(mood['neutral'])} of the "
        f"time, cheerful {about(mood['positive'])}, and upset or tense "
        f"{about(mood['negative'])}.",
    ]
    if overall.get("talk_share") is not None:
        sentences.append(
            f"{name} did {about(overall['talk_share'])} of the talking in these sessions "
            f"({_minutes(float(overall.get('speech_s') or 0))} of speaking in all)."
        )
    trend = data.get("trends", {}).get("calm_or_cheerful")
    sentences.append(trend_sentence(trend, name))
    return sentences


def trend_sentence(trend: str | None, name: str) -> str:
    return {
        "up": f"Over the period, {name} sounded calm or cheerful more often in the later "
        "sessions than in the earlier ones.",
        "down": f"Over the period, {name} sounded calm or cheerful a little less often in the "
        "later sessions. This can have many ordinary reasons; the therapist's comments "
        "say more.",
        "steady": f"Over the period, {name} sounded calm or cheerful about as often in the "
        "later sessions as in the earlier ones.",
    }.get(trend or "", "There are too few sessions yet to speak of a change over time.")


def exercise_sentence(rows: list[Mapping[str, Any]] | None, name: str) -> str:
    if rows is None:
        return ""
    if not rows:
        return f"{name} had no practice exercises in this period."
    attempts = sum(int(r.get("attempts", 0)) for r in rows)
    return (
        f"{name} practised {len(rows)} exercise{'s' if len(rows) != 1 else ''} "
        f"at home, with {attempts} tr{'ies' if attempts != 1 else 'y'} in all."
    )
