"""The server-side SVG charts: accessible, escaped, not colour-only, robust to little data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sessions.families import charts, wording

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: object) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - our own chart output, not untrusted input


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "date": f"2026-01-{i + 1:02d}",
            "child": {"mood": {"positive": 0.2, "neutral": 0.5, "negative": 0.3}},
        }
        for i in range(n)
    ]


def test_trend_line_is_valid_svg_with_title_description_and_every_value() -> None:
    svg = charts.trend_line(
        [("2026-01-05", 0.5), ("2026-01-12", 0.75)], uid="t", title="How often", axis_label="Share"
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "How often"
    desc = root.findtext(f"{SVG}desc") or ""
    assert "5 Jan: 50%" in desc and "12 Jan: 75%" in desc
    assert len(root.findall(f"{SVG}circle")) == 2


def test_text_in_charts_is_escaped() -> None:
    svg = charts.mood_bars(_rows(2), uid="m", name="<script>alert(1)</script>")
    assert "<script>" not in str(svg)
    _parse(svg)  # still well-formed


def test_mood_bars_use_patterns_and_a_text_legend_not_colour_alone() -> None:
    svg = str(charts.mood_bars(_rows(3), uid="m", name="Mia"))
    root = _parse(svg)
    assert len(root.findall(f".//{SVG}pattern")) == 2
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Cheerful", "Calm or neutral", "Upset or tense"} <= texts


def test_fifty_two_sessions_thin_out_the_axis_labels() -> None:
    root = _parse(charts.mood_bars(_rows(28) * 2, uid="m", name="Mia"))
    date_labels = [
        t
        for t in root.iter(f"{SVG}text")
        if t.get("text-anchor") == "middle" and t.text and t.text[0].isdigit()
    ]
    assert 5 <= len(date_labels) <= 20


def test_no_data_draws_nothing() -> None:
    assert charts.trend_line([("2026-01-01", None)], uid="x", title="t", axis_label="a") == ""
    assert charts.mood_bars([{"date": "2026-01-01", "child": None}], uid="x", name="Mia") == ""
    assert charts.emotion_bars({}, uid="x", name="Mia") == ""


def test_plain_wording_rounds_and_avoids_precision() -> None:
    assert wording.about(0.623) == "about 60%"
    assert wording.about(0.675) == "about 70%"
    assert wording.about(None) == "not known"
    assert "too few" in wording.trend_sentence("too_few", "Mia")
