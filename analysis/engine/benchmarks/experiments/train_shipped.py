"""Train the shipped default model (what ``manage.py train_model`` wraps), without Django.

    nice -n 10 .venv/bin/python -m analysis.engine.benchmarks.experiments.train_shipped \
        --data /work/shared/data/ravdess --out analysis/shipped/ser-default-v1 --seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.engine.training.train import train_default_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--notes",
        type=Path,
        default=Path(__file__).with_name("card_notes.md"),
        help="Markdown added to the model card (comparison table, measured inference speed)",
    )
    args = parser.parse_args()
    notes = args.notes.read_text() if args.notes.is_file() else ""
    summary = train_default_model(
        args.data, args.out, seed=args.seed, cache_dir=args.cache_dir, card_notes=notes
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
