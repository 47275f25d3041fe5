"""The verdict on one attempt: stars, whether the target emotion came across, kind words.

Plain Python (no Django): the worker calls ``verdict`` with the model's canonical
probabilities; tests call it with made-up ones.

Stars are never zero for a real try: a child who practised gets at least one star.

* 3 stars: the target emotion is what the model heard most, with at least 50 % probability.
* 2 stars: the target is heard most (below 50 %), or is the runner-up with at least 20 %, or
  the voice's overall feeling (valence/arousal, see ``analysis.engine.labels``) lies close to the
  target's: a calm voice heard as "neutral" is nearly right, an angry one is not.
* 1 star: everything else.

"Conveyed" (the yes/no shown to therapists and in the details) means the target came first.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis.engine.labels import CANONICAL_LABELS, VALENCE_AROUSAL, valence_arousal

EMOTION_WORDS: dict[str, str] = {
    "neutral": "plain",
    "calm": "calm",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "scared",
    "disgust": "grossed out",
    "surprised": "surprised",
}

THREE_STAR_PROBABILITY = 0.5
RUNNER_UP_PROBABILITY = 0.2
CLOSE_FEELING = 0.7  # closeness on the valence/arousal plane, 1 = same point

_MESSAGES: dict[int, tuple[str, ...]] = {
    3: (
        "Amazing! Your voice sounded really {word}!",
        "Wow! That was a super {word} voice!",
        "Yes! We could really hear {word} in your voice!",
    ),
    2: (
        "Great job! We could hear some {word} in your voice.",
        "Nice work! Your voice was a little bit {word}.",
        "Good going! You're getting close to a {word} voice.",
    ),
    1: (
        "Good try! Listen to the example and have another go.",
        "Thanks for practising! Let's make it sound even more {word} next time.",
        "Well done for trying! Every try makes your voice stronger.",
    ),
}
NO_SPEECH_MESSAGE = (
    "We couldn't hear your voice. Hold the microphone close and try again, a little louder!"
)
# An estimate on audio that was too poor, or that the model was unsure of, earns no stars and
# no praise or blame: the child is asked to try again (analysis.engine.audio.quality decides, per
# reason).
UNCLEAR_MESSAGES: dict[str, str] = {
    "too_short": "That was very short! Try again and say the whole sentence.",
    "too_quiet": "We couldn't hear you clearly. Come closer to the microphone and try again!",
    "too_noisy": "It was a bit noisy there. Find a quiet spot, come closer to the microphone "
    "and try again!",
    "clipped": "That was so loud it crackled! Hold the microphone a little further away and "
    "try again.",
    "low_confidence": "We couldn't hear clearly how your voice sounded. Try again, a little "
    "closer to the microphone!",
    "unfamiliar": "We couldn't hear clearly how your voice sounded. Try again, a little closer "
    "to the microphone!",
    # The clinic's blind-review evidence does not back the model on this emotion at this
    # confidence: no stars either way.
    "unvalidated": "We couldn't tell this time how your voice sounded. Have another go!",
}
UNCLEAR_CODE_PREFIX = "unclear_"


def unclear_message(reason: str) -> str:
    return UNCLEAR_MESSAGES.get(reason, UNCLEAR_MESSAGES["low_confidence"])


@dataclass(frozen=True)
class Verdict:
    stars: int
    conveyed: bool
    target_probability: float
    top: list[tuple[str, float]]  # the emotions heard most, best first
    closeness: float
    message: str


def closeness(probabilities: np.ndarray, target: str) -> float:
    """1 when the voice's valence/arousal point equals the target's, 0 at the far corner."""
    point = valence_arousal(probabilities)[0]
    tv, ta = VALENCE_AROUSAL[target]
    distance = math.hypot(point[0] - tv, point[1] - ta)
    return max(0.0, 1.0 - distance / (2 * math.sqrt(2)))


def stars_for(probabilities: Mapping[str, float], target: str) -> tuple[int, bool, float]:
    vector = np.array([float(probabilities.get(label, 0.0)) for label in CANONICAL_LABELS])
    ranked = sorted(CANONICAL_LABELS, key=lambda label: -probabilities.get(label, 0.0))
    rank = ranked.index(target)
    p = float(probabilities.get(target, 0.0))
    near = closeness(vector, target)
    if rank == 0 and p >= THREE_STAR_PROBABILITY:
        stars = 3
    elif rank == 0 or (rank == 1 and p >= RUNNER_UP_PROBABILITY) or near >= CLOSE_FEELING:
        stars = 2
    else:
        stars = 1
    return stars, rank == 0, near


def message_for(stars: int, target: str, seed: str = "") -> str:
    """One of the sentences for ``stars``; ``seed`` (the attempt id) varies them steadily."""
    options = _MESSAGES[max(1, min(3, stars))]
    index = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(options) if seed else 0
    return options[index].format(word=EMOTION_WORDS.get(target, target))


def verdict(probabilities: Mapping[str, float], target: str, *, seed: str = "") -> Verdict:
    """Stars, conveyed and a message for canonical ``probabilities`` and the ``target`` label."""
    if target not in CANONICAL_LABELS:
        raise ValueError(f"Unknown target emotion {target!r}.")
    stars, conveyed, near = stars_for(probabilities, target)
    top = sorted(((k, float(v)) for k, v in probabilities.items()), key=lambda kv: -kv[1])[:3]
    return Verdict(
        stars=stars,
        conveyed=conveyed,
        target_probability=float(probabilities.get(target, 0.0)),
        top=top,
        closeness=near,
        message=message_for(stars, target, seed),
    )
