"""Listening practice in plain Python: which choices a child sees for a clip, and what their
answers say (accuracy per emotion, over time, the confusions, response times).

No Django: the portal passes ``Answer`` tuples built from its rows; the tests pass made-up ones.
The emotion of a clip is always a person's label (a therapist's tag, or the emotion a starter
clip was generated for); nothing here asks a model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.engine.labels import CANONICAL_LABELS

MIN_CHOICES = 2
MAX_CHOICES = 4


@dataclass(frozen=True)
class Answer:
    """One answer: the clip's emotion (``target``), the one picked, and how long it took."""

    target: str
    chosen: str
    response_ms: int | None = None
    day: dt.date | None = None

    @property
    def correct(self) -> bool:
        return self.target == self.chosen


def choices_for(target: str, pool: Sequence[str], count: int, *, seed: str) -> list[str]:
    """``count`` emotions to pick from, always including ``target``: the others come from
    ``pool`` (the set's emotions), in an order fixed by ``seed`` (the same page shows the same
    buttons after a reload). A pool too small for ``count`` is used whole and topped up from
    the canonical labels. Always between two and four."""
    count = max(MIN_CHOICES, min(MAX_CHOICES, int(count)))
    others = sorted(label for label in dict.fromkeys(pool) if label != target)
    # Not a secret: a reproducible shuffle, so the buttons stay put after a reload.
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))  # noqa: S311
    if len(others) >= count - 1:
        picked = [*rng.sample(others, count - 1), target]
    else:
        # Too small a pool: all of the set's feelings, then others from the canonical labels,
        # so there is always a real choice.
        fill = sorted(set(CANONICAL_LABELS) - set(others) - {target})
        picked = [*others, *rng.sample(fill, count - 1 - len(others)), target]
    rng.shuffle(picked)
    return picked


@dataclass(frozen=True)
class EmotionAccuracy:
    emotion: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answers if self.answers else None


def accuracy_per_emotion(answers: Iterable[Answer]) -> list[EmotionAccuracy]:
    """Per clip emotion heard at least once, in canonical order: answers and how many right."""
    totals: dict[str, list[int]] = {}
    for answer in answers:
        cell = totals.setdefault(answer.target, [0, 0])
        cell[0] += 1
        cell[1] += int(answer.correct)
    order = {label: i for i, label in enumerate(CANONICAL_LABELS)}
    return [
        EmotionAccuracy(emotion, n, right)
        for emotion, (n, right) in sorted(totals.items(), key=lambda kv: order.get(kv[0], 99))
    ]


@dataclass(frozen=True)
class Confusion:
    """``counts[i][j]``: clips of ``labels[i]`` answered as ``labels[j]``."""

    labels: list[str]
    counts: list[list[int]]

    def share(self, i: int, j: int) -> float | None:
        row = sum(self.counts[i])
        return self.counts[i][j] / row if row else None


def confusion(answers: Iterable[Answer], labels: Sequence[str] | None = None) -> Confusion:
    """Which emotion was heard as which. ``labels`` default: every emotion that occurs as a
    target or an answer, in canonical order."""
    answers = list(answers)
    if labels is None:
        seen = {a.target for a in answers} | {a.chosen for a in answers}
        labels = [label for label in CANONICAL_LABELS if label in seen]
        labels += sorted(seen - set(labels))
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for answer in answers:
        if answer.target in index and answer.chosen in index:
            counts[index[answer.target]][index[answer.chosen]] += 1
    return Confusion(list(labels), counts)


@dataclass(frozen=True)
class ResponseTimes:
    answers: int
    median_ms: float | None
    median_correct_ms: float | None
    median_wrong_ms: float | None


def response_times(answers: Iterable[Answer]) -> ResponseTimes:
    """Medians of the answers' response times (answers without one are left out): overall,
    right and wrong. Medians, because one answer left for a minute would swamp a mean."""
    timed = [a for a in answers if a.response_ms is not None and a.response_ms >= 0]

    def median(values: list[int]) -> float | None:
        return float(statistics.median(values)) if values else None

    return ResponseTimes(
        len(timed),
        median([a.response_ms for a in timed if a.response_ms is not None]),
        median([a.response_ms for a in timed if a.correct and a.response_ms is not None]),
        median([a.response_ms for a in timed if not a.correct and a.response_ms is not None]),
    )


@dataclass(frozen=True)
class WeekPoint:
    week: dt.date  # the Monday
    emotion: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers


def accuracy_by_week(answers: Iterable[Answer]) -> list[WeekPoint]:
    """Accuracy per clip emotion per week (weeks start on Monday), oldest first. Answers
    without a day are left out."""
    cells: dict[tuple[dt.date, str], list[int]] = {}
    for answer in answers:
        if answer.day is None:
            continue
        monday = answer.day - dt.timedelta(days=answer.day.weekday())
        cell = cells.setdefault((monday, answer.target), [0, 0])
        cell[0] += 1
        cell[1] += int(answer.correct)
    order = {label: i for i, label in enumerate(CANONICAL_LABELS)}
    return [
        WeekPoint(week, emotion, n, right)
        for (week, emotion), (n, right) in sorted(
            cells.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))
        )
    ]
