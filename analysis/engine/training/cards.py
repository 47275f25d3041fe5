"""Tables of the model cards: cross-validation figures and the summed confusion matrix as
Markdown, and a model folder's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def cv_table(cv: dict[str, Any]) -> str:
    rows = ["| grouping | UA (mean ± sd) | WA (mean ± sd) |", "|---|---|---|"]
    for grouping, title in (
        ("eight_class", "8 classes"),
        ("four_class", "4 classes (neutral/happy/sad/angry)"),
        ("valence", "3 valence classes"),
    ):
        m = cv["mean"][grouping]
        rows.append(
            f"| {title} | {pct(m['ua_mean'])} ± {pct(m['ua_std'])} "
            f"| {pct(m['wa_mean'])} ± {pct(m['wa_std'])} |"
        )
    return "\n".join(rows)


def confusion_table(cv: dict[str, Any]) -> str:
    conf = cv["mean"]["eight_class"]["confusion"]
    labels = conf["labels"]
    rows = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, conf["matrix"], strict=True):
        rows.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(rows)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
