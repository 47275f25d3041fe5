"""Plotly figures of the workspace screens, built from selector output.

Figures are plain Plotly JSON (dicts), not ``plotly.graph_objects`` (the one technique of every
interactive chart in the portal): the session timeline has tens of thousands of points and
graph_objects' validation alone would eat most of the 150 ms budget of the dashboard (measured:
a 45-minute timeline, 31,000 points, builds and encodes in ~80 ms as dicts and ~510 ms through
``go.Figure(...).to_json()``); the tests validate every figure with graph_objects instead.

Emotions are never told apart by colour alone: each has a fill pattern and its name appears in
the legend, on hover and (in the speaker lanes) as text on the segment. Low-confidence stretches
are cross-hatched and labelled "uncertain".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from analysis.engine.audio.quality import REASONS
from analysis.engine.labels import CANONICAL_LABELS, SPEAKER_ROLE_LABELS
from sessions.workspace.corrections import SPEAKERS

# Okabe-Ito colour-blind-safe palette (neutral in grey), each with its own fill pattern.
EMOTION_STYLE: dict[str, tuple[str, str]] = {
    "neutral": ("#9aa0a6", ""),
    "calm": ("#56b4e9", "-"),
    "happy": ("#f0e442", "."),
    "sad": ("#0072b2", "|"),
    "angry": ("#d55e00", "x"),
    "fearful": ("#cc79a7", "+"),
    "disgust": ("#009e73", "\\"),
    "surprised": ("#e69f00", "/"),
}
SPEAKER_LABEL = SPEAKER_ROLE_LABELS
UNCERTAIN_PATTERN = {
    "shape": "x",
    "fgcolor": "#1d2330",
    "fgopacity": 0.55,
    "size": 7,
    "solidity": 0.25,
    "bgcolor": "rgba(255,255,255,0.55)",
}
MINUS = "\u2212"  # typographic minus sign, for axis labels
EN_DASH = "\u2013"
# Bump when frame_traces() changes: stored traces of an older format are not used (a page view
# computes them without storing; ``manage.py store_timelines`` stores them again).
TIMELINE_FORMAT = 2
# The model-output traces hold at most about two frames per this many parts of the recording's
# length: about the timeline's plot width in pixels on a desktop screen, so the first view shows
# everything a screen can (issue 14). A recording of up to about 40 minutes at the pipeline's
# 1 s hop is drawn in full; a longer one keeps, in each part, the frames that span its extremes.
TIMELINE_BUCKETS = 1200
# Left margin shared with the waveform above the chart, so both use one time axis.
TIMELINE_MARGIN = {"l": 110, "r": 24, "t": 36, "b": 44}
LANE_PX, PROB_PX, VA_PX, GAP_PX = 120, 110, 130, 22
FONT = {
    "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
    "size": 12,
    "color": "#1d2330",
}


def display_peaks(peaks: Sequence[float], *, percentile: float = 99.0) -> list[float]:
    """Waveform peaks scaled for drawing: the 99th percentile reaches the top, so speech in a
    quiet room is visible even when one knock or laugh is far louder (it is clipped at the
    top instead of flattening everything else)."""
    import numpy as np

    values = np.asarray(peaks, dtype=np.float64)
    if values.size == 0:
        return []
    loud = values[values > 0]
    top = float(np.percentile(loud, percentile)) if loud.size else 0.0
    if top <= 1e-6:
        return [0.0] * int(values.size)
    return np.round(np.minimum(values / top, 1.0), 3).tolist()


def emotion_colour(label: str) -> str:
    return EMOTION_STYLE.get(label, ("#777777", ""))[0]


def emotion_pattern(label: str) -> str:
    return EMOTION_STYLE.get(label, ("#777777", ""))[1]


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def time_ticks(start: float, end: float, target: int = 10) -> tuple[list[float], list[str]]:
    span = max(end - start, 1e-3)
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
    step = next((s for s in steps if span / s <= target), 3600)
    first = (int(start // step) + 1) * step if start % step else int(start)
    values = [float(v) for v in range(int(first), int(end) + 1, step)]
    return values, [clock(v) for v in values]


def _domains(heights: Sequence[int]) -> tuple[list[tuple[float, float]], int]:
    """Vertical domains (top to bottom) for rows of the given pixel heights."""
    plot_px = sum(heights) + GAP_PX * (len(heights) - 1)
    total = plot_px + TIMELINE_MARGIN["t"] + TIMELINE_MARGIN["b"]
    domains = []
    top = plot_px
    for h in heights:
        domains.append(((top - h) / plot_px, top / plot_px))
        top -= h + GAP_PX
    return [(max(0.0, a), min(1.0, b)) for a, b in domains], total


def _runs(frames: Sequence[Mapping[str, Any]], max_gap: float) -> list[list[Mapping[str, Any]]]:
    """Consecutive frames without a pause longer than ``max_gap`` between them."""
    runs: list[list[Mapping[str, Any]]] = []
    for frame in frames:
        if runs and frame["start_s"] - runs[-1][-1]["end_s"] <= max_gap:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return runs


def _r(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def frame_roles(frames: Sequence[Mapping[str, Any]]) -> list[str]:
    """The speakers with per-window probabilities, in lane order: one chart row each."""
    present = {f.get("speaker") for f in frames}
    return [r for r in SPEAKERS if r in present]


def timeline_traces(frames: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    """The roles and the model-output traces (as JSON text) of a timeline: what ``RunTimeline``
    stores when a run's frames are written, and what a page computes when none is stored."""
    return frame_roles(frames), json.dumps(frame_traces(frames), separators=(",", ":"))


def frame_traces(frames: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The model-output part of the timeline: stacked emotion probabilities of each speaker's
    speech windows (rows 2..) and valence/arousal lines (last row). It depends on the run's
    frames only, so it is built once per run and stored (see ``selectors.timeline_traces``).

    Each trace holds at most about two frames per ``TIMELINE_BUCKETS``-th of the recording
    (what a screen can show): the probabilities keep the frames spanning each part's extremes,
    the valence and arousal lines each part's lowest and highest value."""
    roles = frame_roles(frames)
    va_axis = f"y{len(roles) + 2}"
    hop = _typical_hop(frames)
    width = max((f["end_s"] for f in frames), default=0.0) / TIMELINE_BUCKETS
    traces: list[dict[str, Any]] = []
    for row, role in enumerate(roles, start=2):
        runs = [
            _spanning_frames(run, width)
            for run in _runs([f for f in frames if f.get("speaker") == role], hop * 1.6)
        ]
        xs: list[float | None] = []
        for run in runs:
            xs.append(_r(run[0]["start_s"], 2))
            xs.extend(_r((f["start_s"] + f["end_s"]) / 2, 2) for f in run)
            xs.append(_r(run[-1]["end_s"], 2))
        for label in CANONICAL_LABELS:
            ys: list[float | None] = []
            for run in runs:
                ys.append(0.0)
                ys.extend(_r((f.get("probabilities") or {}).get(label, 0.0)) for f in run)
                ys.append(0.0)
            if not any(ys):
                continue
            colour = emotion_colour(label)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": label.capitalize(),
                    "legendgroup": label,
                    "showlegend": False,
                    "xaxis": "x",
                    "yaxis": f"y{row}",
                    "x": xs,
                    "y": ys,
                    "stackgroup": f"p{role}",
                    "line": {"width": 0.5, "color": colour},
                    "fillcolor": colour,
                    "fillpattern": {
                        "shape": emotion_pattern(label),
                        "fgcolor": "#1d2330",
                        "fgopacity": 0.25,
                        "size": 6,
                        "solidity": 0.2,
                        "fillmode": "overlay",
                    },
                    "hovertemplate": f"{SPEAKER_LABEL[role]} · {label}: %{{y:.0%}}<extra></extra>",
                }
            )
    for role in [r for r in roles if r != "other"]:
        role_runs = _runs([f for f in frames if f.get("speaker") == role], hop * 1.6)
        visible = True if role == "child" else "legendonly"
        for measure, dash, colour in (
            ("valence", "solid", "#2857a4"),
            ("arousal", "dash", "#b4451f"),
        ):
            line_x: list[float | None] = []
            values: list[float | None] = []
            for run in role_runs:
                for f in _extreme_frames(run, width, measure):
                    line_x.append(_r((f["start_s"] + f["end_s"]) / 2, 2))
                    values.append(_r(f.get(measure)))
                line_x.append(None)
                values.append(None)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{SPEAKER_LABEL[role]} {measure}",
                    "xaxis": "x",
                    "yaxis": va_axis,
                    "x": line_x,
                    "y": values,
                    "connectgaps": False,
                    "visible": visible,
                    "line": {
                        "width": 1.6 if role == "child" else 1.1,
                        "color": colour,
                        "dash": dash if role == "child" else "dot",
                    },
                    "hovertemplate": f"{SPEAKER_LABEL[role]} {measure}: %{{y:+.2f}}<extra></extra>",
                }
            )
    return traces


def _by_bucket(run: Sequence[Mapping[str, Any]], width: float) -> list[list[Mapping[str, Any]]]:
    """The run's frames in consecutive parts of ``width`` seconds (by their middle)."""
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for f in run:
        key = int((f["start_s"] + f["end_s"]) / 2 / width) if width > 0 else 0
        groups.setdefault(key, []).append(f)
    return [groups[k] for k in sorted(groups)]


def _spanning_frames(run: Sequence[Mapping[str, Any]], width: float) -> list[Mapping[str, Any]]:
    """At most two real frames per part of the recording, for the stacked probabilities: the
    frame furthest from the part's mean (a peak of any emotion) and the frame furthest from
    that one (the other extreme), in time order. Real frames, so each point's probabilities
    still add up to 1; a part with one or two frames keeps them."""
    kept: list[Mapping[str, Any]] = []
    for group in _by_bucket(run, width):
        if len(group) <= 2:
            kept.extend(group)
            continue
        vectors = [
            [float((f.get("probabilities") or {}).get(label, 0.0)) for label in CANONICAL_LABELS]
            for f in group
        ]
        mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
        first = _furthest(vectors, mean)
        second = _furthest(vectors, vectors[first])
        kept.extend(group[i] for i in sorted({first, second}))
    return kept


def _furthest(vectors: Sequence[Sequence[float]], origin: Sequence[float]) -> int:
    """The index of the vector with the largest difference in any one component from
    ``origin`` (the first such one on a tie)."""
    distances = [max(abs(a - b) for a, b in zip(v, origin, strict=True)) for v in vectors]
    return distances.index(max(distances))


def _extreme_frames(
    run: Sequence[Mapping[str, Any]], width: float, key: str
) -> list[Mapping[str, Any]]:
    """At most two frames per part of the recording for a line: the lowest and the highest
    ``key`` (min/max decimation: every peak and trough stays), in time order."""
    kept: list[Mapping[str, Any]] = []
    for group in _by_bucket(run, width):
        valued = [i for i, f in enumerate(group) if f.get(key) is not None]
        if len(group) <= 2 or not valued:
            kept.extend(group if len(group) <= 2 else group[:1])
            continue
        low = min(valued, key=lambda i: float(group[i][key]))
        high = max(valued, key=lambda i: float(group[i][key]))
        kept.extend(group[i] for i in sorted({low, high}))
    return kept


def speaker_lane(seg: Mapping[str, Any]) -> str:
    """The row-1 lane of a segment: its role, or "Speaker A", "Speaker B", ... for a voice
    nobody has named yet (one lane per voice, never merged into one "unknown" row)."""
    if seg.get("speaker") == "unknown" and seg.get("cluster"):
        return f"Speaker {seg['cluster']}"
    return str(seg.get("speaker"))


def unnamed_voices(segments: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({speaker_lane(s) for s in segments} - set(SPEAKERS))


def timeline_layout(
    roles: Sequence[str],
    duration: float,
    *,
    has_segments: bool,
    no_speech: bool = False,
    voices: Sequence[str] = (),
) -> dict[str, Any]:
    heights = [LANE_PX] + [PROB_PX] * len(roles) + [VA_PX]
    # Lane rows, top first: the child, the therapist, each unnamed voice, then the rest.
    lane_rows = [*SPEAKERS[:2], *voices, *SPEAKERS[2:]]
    domains, total_height = _domains(heights)
    va_index = len(heights)
    ticks = time_ticks(0, duration)
    layout: dict[str, Any] = {
        "height": total_height,
        "margin": TIMELINE_MARGIN,
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "barmode": "overlay",
        "bargap": 0,
        "hovermode": "closest",
        "dragmode": "zoom",
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "y": 1.0,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11},
            "traceorder": "normal",
        },
        "uniformtext": {"mode": "hide", "minsize": 9},
        "xaxis": {
            "range": [0, duration],
            "showgrid": True,
            "gridcolor": "#eef0f4",
            "zeroline": False,
            "anchor": f"y{va_index}",
            "tickvals": ticks[0],
            "ticktext": ticks[1],
            "title": {"text": "Time (min:s)", "standoff": 6},
        },
        # Row 1: one lane per speaker, segments coloured, patterned and named by emotion.
        "yaxis": {
            "domain": domains[0],
            "type": "category",
            "fixedrange": True,
            "categoryorder": "array",
            "categoryarray": list(reversed(lane_rows)),
            "tickvals": lane_rows,
            "ticktext": [SPEAKER_LABEL.get(row, row) for row in lane_rows],
            "title": {"text": "Speaker"},
        },
        "annotations": [],
        "shapes": [],
    }
    for row, role in enumerate(roles, start=2):
        layout[f"yaxis{row}"] = {
            "domain": domains[row - 1],
            "range": [0, 1],
            "fixedrange": True,
            "tickvals": [0, 0.5, 1],
            "ticktext": ["0", "50%", "100%"],
            "title": {"text": f"{SPEAKER_LABEL[role]}<br>emotions"},
        }
    layout[f"yaxis{va_index}"] = {
        "domain": domains[-1],
        "range": [-1.05, 1.05],
        "fixedrange": True,
        "zeroline": True,
        "zerolinecolor": "#b8bfcc",
        "tickvals": [-1, 0, 1],
        "ticktext": [MINUS + "1", "0", "+1"],
        "title": {"text": "Valence /<br>arousal"},
    }
    if not has_segments:
        layout["annotations"].append(
            {
                "text": "No speech was found in this recording."
                if no_speech
                else "No segments to show yet.",
                # Above the plot area, in the top margin: never over the axes and their
                # tick labels (the chart keeps its axes, so the time scale still reads).
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 1.0,
                "yanchor": "bottom",
                "yshift": 6,
                "showarrow": False,
                "bgcolor": "#ffffff",
                "font": {"size": 14, "color": "#5b6475"},
            }
        )
    return layout


# An emotion whose measured agreement with the clinic's therapists is poor is drawn in this
# grey, and its legend entry says why (sessions.validation.selectors.poor_emotions).
POOR_AGREEMENT_COLOUR = "#b8b8b8"


def segment_traces(
    segments: Sequence[Mapping[str, Any]],
    roles: Sequence[str],
    duration: float,
    poor: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parts that change with corrections: the speaker lanes (drawn first) and the
    uncertainty hatching over the probability rows (drawn last, on top). Emotions in ``poor``
    are greyed out."""
    lanes: list[dict[str, Any]] = []
    for label in CANONICAL_LABELS:
        mine = [s for s in segments if s["emotion"] == label]
        if not mine:
            continue
        lanes.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label.capitalize() + (" (poor agreement here)" if label in poor else ""),
                "legendgroup": label,
                "xaxis": "x",
                "yaxis": "y",
                "y": [speaker_lane(s) for s in mine],
                "base": [_r(s["start_s"]) for s in mine],
                "x": [_r(s["end_s"] - s["start_s"]) for s in mine],
                "customdata": [s["key"] for s in mine],
                "text": [
                    label + ("?" if s["uncertain"] else "") + (" ✎" if s["corrected"] else "")
                    for s in mine
                ],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textfont": {
                    "color": "#111111"
                    if label in ("happy", "neutral", "calm", "surprised")
                    else "#ffffff",
                    "size": 11,
                },
                "hovertext": [_segment_hover(s) for s in mine],
                "hoverinfo": "text",
                "width": 0.8,
                "marker": {
                    "color": POOR_AGREEMENT_COLOUR if label in poor else emotion_colour(label),
                    "pattern": {
                        "shape": [
                            ("/" if s["uncertain"] else emotion_pattern(label)) for s in mine
                        ],
                        "fgcolor": "#1d2330",
                        "fgopacity": 0.35,
                        "size": 6,
                        "solidity": 0.2,
                        "fillmode": "overlay",
                    },
                    "line": {
                        "color": "#1d2330",
                        "width": [2 if s["corrected"] else 0 for s in mine],
                    },
                },
            }
        )
    overlays: list[dict[str, Any]] = []
    for row, role in enumerate(roles, start=2):
        uncertain = [s for s in segments if s["speaker"] == role and s["uncertain"]]
        if uncertain:
            overlays.extend(
                _uncertain_trace(uncertain, f"y{row}", show_legend=not overlays, duration=duration)
            )
    return lanes, overlays


def timeline_duration(workspace: Mapping[str, Any]) -> float:
    segments = workspace["segments"]
    return float(workspace.get("duration_s") or 0.0) or max([s["end_s"] for s in segments] + [1.0])


def _segment_part(
    workspace: Mapping[str, Any], roles: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The part of the timeline drawn from the (corrected) segments: the speaker lanes, the
    overlays above the model traces, and the layout."""
    duration = timeline_duration(workspace)
    poor = list(workspace.get("poor_emotions") or ())
    lanes, overlays = segment_traces(workspace["segments"], roles, duration, poor)
    layout = timeline_layout(
        roles,
        duration,
        has_segments=bool(workspace["segments"]),
        no_speech=bool(workspace.get("no_speech")),
        voices=unnamed_voices(workspace["segments"]),
    )
    return lanes, overlays, layout


def timeline_figure(workspace: Mapping[str, Any]) -> dict[str, Any]:
    """The emotion timeline of one recording: speaker lanes of (corrected) segments, stacked
    emotion probabilities per speaker, and valence/arousal lines, on one time axis."""
    frames = workspace["frames"]
    lanes, overlays, layout = _segment_part(workspace, frame_roles(frames))
    return {"data": [*lanes, *frame_traces(frames), *overlays], "layout": layout}


def timeline_figure_json(
    workspace: Mapping[str, Any], roles: Sequence[str], stored_traces_json: str
) -> str:
    """The same figure as ``timeline_figure``, as JSON text, with the stored model-output
    traces spliced in unparsed: the dashboard never re-reads or re-encodes the frames."""
    lanes, overlays, layout = _segment_part(workspace, roles)
    parts = [
        json.dumps(lanes, separators=(",", ":"))[1:-1],
        stored_traces_json.strip()[1:-1],
        json.dumps(overlays, separators=(",", ":"))[1:-1],
    ]
    data = "[" + ",".join(p for p in parts if p) + "]"
    return '{"data":' + data + ',"layout":' + json.dumps(layout, separators=(",", ":")) + "}"


def _typical_hop(frames: Sequence[Mapping[str, Any]]) -> float:
    if len(frames) < 2:
        return 1.0
    starts = sorted(f["start_s"] for f in frames[:200])
    diffs = sorted(b - a for a, b in itertools.pairwise(starts) if b > a)
    return diffs[len(diffs) // 2] if diffs else 1.0


def _uncertain_trace(
    segments: Sequence[Mapping[str, Any]], axis: str, *, show_legend: bool, duration: float
) -> list[dict[str, Any]]:
    """Cross-hatched boxes over low-confidence stretches, drawn above the probability areas
    (a filled scatter, since plotly draws bars below lines), and the word "uncertain" on the
    stretches wide enough to hold it."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for s in segments:
        a, b = _r(s["start_s"]), _r(s["end_s"])
        xs += [a, a, b, b, a, None]
        ys += [0.0, 1.0, 1.0, 0.0, 0.0, None]
    hatch = {
        "type": "scatter",
        "mode": "lines",
        "fill": "toself",
        "name": "Uncertain (too short, quiet, noisy or unsure)",
        "legendgroup": "uncertain",
        "showlegend": show_legend,
        "xaxis": "x",
        "yaxis": axis,
        "x": xs,
        "y": ys,
        "line": {"color": "#1d2330", "width": 1, "dash": "dot"},
        "fillcolor": "rgba(255,255,255,0.35)",
        "fillpattern": UNCERTAIN_PATTERN,
        "hoveron": "fills",
        "hoverinfo": "text",
        "text": "Uncertain: the model is not confident about this stretch",
    }
    wide = [s for s in segments if s["end_s"] - s["start_s"] >= duration * 0.04]
    label = {
        "type": "scatter",
        "mode": "text",
        "showlegend": False,
        "xaxis": "x",
        "yaxis": axis,
        "x": [_r((s["start_s"] + s["end_s"]) / 2) for s in wide],
        "y": [0.5] * len(wide),
        "text": ["uncertain"] * len(wide),
        "hoverinfo": "skip",
        "textfont": {"color": "#1d2330", "size": 11},
    }
    return [hatch, label] if wide else [hatch]


def _segment_hover(seg: Mapping[str, Any]) -> str:
    parts = [
        f"{clock(seg['start_s'])}{EN_DASH}{clock(seg['end_s'])} · "
        f"{SPEAKER_LABEL.get(speaker_lane(seg), speaker_lane(seg))} · {seg['emotion']}"
    ]
    if seg.get("confidence") is not None:
        parts.append(f"confidence {seg['confidence']:.0%}")
    if seg.get("uncertain"):
        reason = REASONS.get(
            seg.get("uncertain_reason") or "low_confidence", REASONS["low_confidence"]
        )
        parts.append(f"uncertain: {reason}")
    if seg.get("corrected"):
        parts.append(
            f"corrected (model said {seg.get('model_speaker')}, {seg.get('model_emotion')})"
        )
    return "<br>".join(parts)


# --- child trends -----------------------------------------------------------------------------

# Top: two staggered rows of phase labels, above the panels (never over the bars); bottom:
# the date ticks and the legend below them.
TREND_MARGIN = {"l": 70, "r": 24, "t": 56, "b": 96}
DAY_MS = 86_400_000


def _phase_breaks(
    xs: Sequence[str], columns: Sequence[Sequence[Any]], phases: Sequence[date]
) -> tuple[list[str | None], list[list[Any]]]:
    """The points of a line with a gap (``None``) wherever a phase line falls between two of
    them, as on an ABA graph: the data path does not cross a phase change. A session on the
    day of a phase change belongs to the new phase."""
    out_x: list[str | None] = []
    out_cols: list[list[Any]] = [[] for _ in columns]
    previous: date | None = None
    for i, x in enumerate(xs):
        day = date.fromisoformat(x)
        if previous is not None and any(previous < p <= day for p in phases):
            out_x.append(None)
            for col in out_cols:
                col.append(None)
        out_x.append(x)
        for col, values in zip(out_cols, columns, strict=True):
            col.append(values[i])
        previous = day
    return out_x, out_cols


def _bar_width_ms(dates: Sequence[str]) -> int:
    """Bars a little narrower than the closest two sessions (a week when there is one), so a
    single session is a visible bar rather than a one-millisecond sliver of the date axis."""
    days = sorted({date.fromisoformat(d) for d in dates})
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    gap = min(gaps) if gaps else 7
    return int(max(1, min(gap, 14)) * 0.7 * DAY_MS)


def trends_figure(trends: Mapping[str, Any]) -> dict[str, Any]:
    """Per-session points of the child's speech: emotion distribution (stacked bars), mean
    valence and arousal with their spread (error bars), talk-time share, practice, and the
    therapist's phase lines and goals; one panel each, on one date axis."""
    points: Sequence[Mapping[str, Any]] = trends["points"]
    markers = trends["markers"]
    practice: Sequence[Mapping[str, Any]] = trends.get("practice") or []
    dates = [_iso(p["date"]) for p in points]
    weeks = [_iso(w["week"]) for w in practice]
    hover_date = [
        f"{p['date']:%Y-%m-%d}" + (" (corrected)" if p["corrected"] else "") for p in points
    ]
    phases = sorted({m.date for m in markers if m.kind == "phase"})
    traces = [
        *_emotion_bars(points, dates, hover_date),
        *_mean_lines(points, dates, hover_date, phases),
        _talk_line(points, dates, hover_date, phases),
    ]
    if practice:
        traces.append(_practice_line(practice, weeks, phases))
    x_range = _date_range([*dates, *weeks], markers)
    layout = _trend_layout(x_range, practice=bool(practice))
    for marker in markers:
        # Phase lines alternate between two label rows, so neighbours do not overlap.
        if marker.kind == "phase":
            row = sum(1 for shape in layout["shapes"] if shape["yref"] == "paper")
            layout["shapes"].append(_phase_line(marker))
            layout["annotations"].append(_phase_label(marker, row))
        else:
            shape, label = _goal_line(marker, x_range[1])
            layout["shapes"].append(shape)
            layout["annotations"].append(label)
    if not points:
        layout["annotations"].append(
            {
                "text": "No analysed sessions in this range yet.",
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 14, "color": "#5b6475"},
            }
        )
    return {"data": traces, "layout": layout}


def _trend_panels(practice: bool) -> tuple[list[tuple[float, float]], int]:
    """The vertical domain of each panel (emotions, valence/arousal, talk share, practice)
    and the plot height in pixels, with 50 px between panels."""
    heights = [220, 200, 170] + ([150] if practice else [])
    plot_px = sum(heights) + (len(heights) - 1) * 50
    domains = []
    top = plot_px
    for h in heights:
        domains.append((max(0.0, (top - h) / plot_px), top / plot_px))
        top -= h + 50
    return domains, plot_px


def _emotion_bars(
    points: Sequence[Mapping[str, Any]], dates: Sequence[str], hover_date: Sequence[str]
) -> list[dict[str, Any]]:
    """Panel 1: the share of each emotion in the child's speech, stacked per session."""
    bar_width = [_bar_width_ms(dates)] * len(dates)
    traces: list[dict[str, Any]] = []
    for label in CANONICAL_LABELS:
        values = [_r(p["emotion_shares"].get(label, 0.0)) for p in points]
        if not any(values):
            continue
        traces.append(
            {
                "type": "bar",
                "name": label.capitalize(),
                "x": dates,
                "y": values,
                "width": bar_width,
                "xaxis": "x",
                "yaxis": "y",
                "legendgroup": label,
                "marker": {
                    "color": emotion_colour(label),
                    "pattern": {
                        "shape": emotion_pattern(label),
                        "fgcolor": "#1d2330",
                        "fgopacity": 0.35,
                        "size": 6,
                        "solidity": 0.2,
                        "fillmode": "overlay",
                    },
                    "line": {"color": "#ffffff", "width": 0.5},
                },
                "customdata": hover_date,
                "hovertemplate": f"%{{customdata}} · {label}: %{{y:.0%}}<extra></extra>",
            }
        )
    return traces


def _mean_lines(
    points: Sequence[Mapping[str, Any]],
    dates: Sequence[str],
    hover_date: Sequence[str],
    phases: Sequence[date],
) -> list[dict[str, Any]]:
    """Panel 2: mean valence and arousal per session with their spread as error bars."""
    traces: list[dict[str, Any]] = []
    for measure, colour, symbol in (
        ("valence", "#2857a4", "circle"),
        ("arousal", "#b4451f", "diamond"),
    ):
        line_x, (line_y, line_sd, line_hover) = _phase_breaks(
            dates,
            [
                [_r(p[f"{measure}_mean"]) for p in points],
                [_r(p[f"{measure}_sd"]) for p in points],
                hover_date,
            ],
            phases,
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"Mean {measure} (± sd)",
                "x": line_x,
                "y": line_y,
                "connectgaps": False,
                "error_y": {
                    "type": "data",
                    "array": line_sd,
                    "visible": True,
                    "thickness": 1,
                    "width": 3,
                    "color": colour,
                },
                "xaxis": "x2",
                "yaxis": "y2",
                "line": {
                    "color": colour,
                    "width": 1.5,
                    "dash": "solid" if measure == "valence" else "dash",
                },
                "marker": {"symbol": symbol, "size": 7, "color": colour},
                "customdata": line_hover,
                "hovertemplate": f"%{{customdata}} · {measure}: %{{y:+.2f}}<extra></extra>",
            }
        )
    return traces


def _talk_line(
    points: Sequence[Mapping[str, Any]],
    dates: Sequence[str],
    hover_date: Sequence[str],
    phases: Sequence[date],
) -> dict[str, Any]:
    """Panel 3: the child's share of the talk time per session."""
    talk_x, (talk_y, talk_hover) = _phase_breaks(
        dates, [[_r(p["talk_share"]) for p in points], hover_date], phases
    )
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "Child talk-time share",
        "x": talk_x,
        "y": talk_y,
        "connectgaps": False,
        "xaxis": "x3",
        "yaxis": "y3",
        "line": {"color": "#1f6b3a", "width": 1.5},
        "marker": {"symbol": "square", "size": 7},
        "customdata": talk_hover,
        "hovertemplate": "%{customdata} · talk-time share: %{y:.0%}<extra></extra>",
    }


def _practice_line(
    practice: Sequence[Mapping[str, Any]], weeks: Sequence[str], phases: Sequence[date]
) -> dict[str, Any]:
    """Panel 4 (when the child practised): per week, the share of attempts in which the
    target emotion came across, with the number of attempts as text."""
    week_x, (week_y, week_text, week_data) = _phase_breaks(
        weeks,
        [
            [_r(w["conveyed_share"]) for w in practice],
            [f"{w['attempts']}\u00d7" for w in practice],
            [[_iso(w["week"]), w["attempts"]] for w in practice],
        ],
        phases,
    )
    return {
        "type": "scatter",
        "mode": "lines+markers+text",
        "name": "Practice: target emotion conveyed",
        "x": week_x,
        "y": week_y,
        "connectgaps": False,
        "text": week_text,
        "textposition": "top center",
        "textfont": {"size": 10, "color": "#5b6475"},
        "xaxis": "x4",
        "yaxis": "y4",
        "line": {"color": "#6a3d9a", "width": 1.5, "dash": "dot"},
        "marker": {"symbol": "triangle-up", "size": 8, "color": "#6a3d9a"},
        "customdata": week_data,
        "hovertemplate": "week of %{customdata[0]} · %{customdata[1]} attempts · "
        "conveyed in %{y:.0%}<extra></extra>",
    }


def _trend_layout(x_range: list[str], *, practice: bool) -> dict[str, Any]:
    """The panels' axes on one shared date axis, with empty shapes and annotations for the
    markers."""
    domains, plot_px = _trend_panels(practice)
    x_common = {"type": "date", "showgrid": True, "gridcolor": "#eef0f4", "range": x_range}
    layout: dict[str, Any] = {
        "height": plot_px + TREND_MARGIN["t"] + TREND_MARGIN["b"],
        "margin": TREND_MARGIN,
        "font": FONT,
        "barmode": "stack",
        "bargap": 0.25,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        # Below the date axis, so the phase labels above the panels have the top to themselves.
        "legend": {
            "orientation": "h",
            "y": -36 / plot_px,
            "yanchor": "top",
            "x": 0,
            "font": {"size": 11},
        },
        "xaxis": {**x_common, "anchor": "y"},
        "xaxis2": {**x_common, "anchor": "y2", "matches": "x"},
        "xaxis3": {**x_common, "anchor": "y3", "matches": "x"},
        "yaxis": {
            "domain": domains[0],
            "range": [0, 1],
            "tickformat": ".0%",
            "fixedrange": True,
            "title": {"text": "Emotions<br>(child speech)"},
        },
        "yaxis2": {
            "domain": domains[1],
            "range": [-1.05, 1.05],
            "fixedrange": True,
            "zeroline": True,
            "zerolinecolor": "#b8bfcc",
            "title": {"text": "Valence /<br>arousal"},
        },
        "yaxis3": {
            "domain": domains[2],
            "range": [0, 1],
            "tickformat": ".0%",
            "fixedrange": True,
            "title": {"text": "Talk-time<br>share"},
        },
        "shapes": [],
        "annotations": [],
    }
    if practice:
        layout["xaxis4"] = {**x_common, "anchor": "y4", "matches": "x"}
        layout["yaxis4"] = {
            "domain": domains[3],
            "range": [0, 1.15],
            "tickvals": [0, 0.5, 1],
            "tickformat": ".0%",
            "fixedrange": True,
            "title": {"text": "Practice<br>conveyed"},
        }
    return layout


def _phase_line(marker: Any) -> dict[str, Any]:
    """A phase change: a dashed line through every panel (as on an ABA graph)."""
    day = _iso(marker.date)
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": day,
        "x1": day,
        "y0": 0,
        "y1": 1,
        "line": {"color": "#1d2330", "width": 1.5, "dash": "dash"},
    }


def _phase_label(marker: Any, row: int) -> dict[str, Any]:
    return {
        "x": _iso(marker.date),
        "xref": "x",
        "y": 1.0,
        "yref": "paper",
        "yanchor": "bottom",
        "text": f"▏{marker.label}",
        "showarrow": False,
        "xanchor": "left",
        "font": {"size": 11},
        "bgcolor": "rgba(255,255,255,0.85)",
        # In the top margin, above the bars; neighbours alternate between two rows.
        "yshift": 2 + 18 * (row % 2),
    }


def _goal_line(marker: Any, last: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A goal: a dotted target line in its measure's panel from its day on, and its label."""
    day = _iso(marker.date)
    axis = {"talk_share": "3", "valence": "2", "arousal": "2"}.get(marker.metric, "2")
    shape = {
        "type": "line",
        "xref": f"x{axis}",
        "yref": f"y{axis}",
        "x0": day,
        "x1": last,
        "y0": marker.target,
        "y1": marker.target,
        "line": {"color": "#6a3d9a", "width": 2, "dash": "dot"},
    }
    label = {
        "x": day,
        "xref": f"x{axis}",
        "y": marker.target,
        "yref": f"y{axis}",
        "text": f"Goal: {marker.label} ({_target_text(marker.metric, marker.target)})",
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "bottom",
        "font": {"size": 11, "color": "#6a3d9a"},
        "bgcolor": "rgba(255,255,255,0.85)",
    }
    return shape, label


def _iso(day: date) -> str:
    return day.isoformat()


def _target_text(metric: str, target: float | None) -> str:
    if target is None:
        return ""
    if metric == "talk_share":
        return f"{target:.0%}"
    return f"{metric} {target:+.2f}"


def _date_range(dates: Sequence[str], markers: Sequence[Any]) -> list[str]:
    from datetime import timedelta

    days = [date.fromisoformat(d) for d in dates] + [m.date for m in markers]
    if not days:
        today = date.today()
        return [(today - timedelta(days=90)).isoformat(), today.isoformat()]
    low, high = min(days), max(days)
    pad = timedelta(days=max(4, (high - low).days // 25))
    return [(low - pad).isoformat(), (high + pad).isoformat()]
