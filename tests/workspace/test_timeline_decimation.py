"""The timeline's model-output traces are decimated for display (issue 14) without changing
what the therapist sees: on constructed frames with known peaks, every peak and trough stays,
each kept point is a real frame (the stacked probabilities still add up to 1), the speech runs
keep their edges, and a recording short enough to draw in full is drawn in full."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from analysis.engine.labels import CANONICAL_LABELS
from sessions.workspace.charts import TIMELINE_BUCKETS, frame_traces

SPIKE_AT = 1234.25  # one frame of "angry" at 0.95 in calm speech
TROUGH_AT = 2500.75  # one frame of valence -0.9


def _probabilities(main: str, share: float) -> dict[str, float]:
    rest = (1.0 - share) / (len(CANONICAL_LABELS) - 1)
    return {label: (share if label == main else rest) for label in CANONICAL_LABELS}


def _frames(seconds: float, hop: float, pause_every: float = 60.0) -> list[dict[str, Any]]:
    """Child speech every ``hop`` seconds, with a 5 s pause each ``pause_every`` seconds, a
    slow wave in valence and arousal, one spike of "angry" and one valence trough."""
    frames = []
    t = 0.0
    while t < seconds:
        if t % pause_every < pause_every - 5:
            mid = t + hop / 2
            angry = math.isclose(mid, SPIKE_AT)
            probs = _probabilities("angry", 0.95) if angry else _probabilities("calm", 0.6)
            valence = -0.9 if math.isclose(mid, TROUGH_AT) else 0.3 * math.sin(mid / 40)
            frames.append(
                {
                    "start_s": round(t, 3),
                    "end_s": round(t + hop, 3),
                    "speaker": "child",
                    "probabilities": probs,
                    "valence": round(valence, 4),
                    "arousal": round(0.2 * math.cos(mid / 25), 4),
                }
            )
        t = round(t + hop, 3)
    return frames


def _trace(traces: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(t for t in traces if t["name"] == name)


def _points(trace: dict[str, Any]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in zip(trace["x"], trace["y"], strict=True) if x is not None]


def test_a_long_recording_keeps_its_peaks_and_troughs_in_few_points() -> None:
    frames = _frames(3600.0, 0.5)  # an hour at a 0.5 s hop: ~6,900 frames of the child
    traces = frame_traces(frames)
    for trace in traces:
        go.Figure(data=[trace])  # still valid plotly
        # About two points per part of the recording, plus the runs' edges.
        assert len(trace["x"]) <= 2 * TIMELINE_BUCKETS + 3 * 60 + 2
    angry = _points(_trace(traces, "Angry"))
    assert len(angry) < 0.45 * len(frames)
    assert max(y for _, y in angry) == 0.95
    assert [x for x, y in angry if y == 0.95] == [SPIKE_AT]
    valence = _points(_trace(traces, "Child valence"))
    assert min(y for _, y in valence) == -0.9
    assert [x for x, y in valence if y == -0.9] == [TROUGH_AT]
    # The slow wave's highs and lows are still there (the lines are min/max decimated).
    everything = [f["valence"] for f in frames]
    assert max(y for _, y in valence) == round(max(everything), 3)
    arousal = _points(_trace(traces, "Child arousal"))
    assert min(y for _, y in arousal) == round(min(f["arousal"] for f in frames), 3)
    assert max(y for _, y in arousal) == round(max(f["arousal"] for f in frames), 3)


def test_the_kept_probabilities_are_real_frames_and_still_add_up_to_one() -> None:
    frames = _frames(3600.0, 0.5)
    traces = [t for t in frame_traces(frames) if t.get("stackgroup")]
    xs = traces[0]["x"]
    assert all(t["x"] == xs for t in traces)  # one x per point for every emotion of the stack
    middles = {round((f["start_s"] + f["end_s"]) / 2, 2) for f in frames}
    for i, x in enumerate(xs):
        total = sum(t["y"][i] for t in traces)
        if x in middles:
            assert math.isclose(total, 1.0, abs_tol=0.002)
        else:  # a run's edge, where the area closes to zero
            assert total == 0.0
    # The pauses still show: every 60 s run starts and ends at zero.
    edges = [x for i, x in enumerate(xs) if sum(t["y"][i] for t in traces) == 0.0]
    assert len(edges) == 2 * 60


def test_a_recording_short_enough_is_drawn_in_full() -> None:
    frames = _frames(600.0, 1.0)  # 10 minutes at the pipeline's 1 s hop
    traces = frame_traces(frames)
    angry = _trace(traces, "Calm")
    speech = [x for x in angry["x"] if x is not None]
    runs = 10
    assert len(speech) == len(frames) + 2 * runs
    valence = _trace(traces, "Child valence")
    assert len([x for x in valence["x"] if x is not None]) == len(frames)
