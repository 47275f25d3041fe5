"""``manage.py train_model --data DIR --out PATH [--seed N] [--recipe robust|v1]``: train the
shipped default model on a RAVDESS-style folder.

``robust`` (the default, ser-default-v2) wraps
``analysis.engine.training.train.train_robust_model``:
robust acoustic features, multi-condition training, a calibration temperature, and the
robustness benchmark (actor cross-validation under every recording condition) written into
the model card. ``v1`` wraps ``train_default_model`` (the first default, clean studio clips).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.management.commands._registry_cli import pct


class Command(BaseCommand):
    help = "Train the default emotion model on RAVDESS-named audio and write a model folder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--data",
            type=Path,
            required=True,
            help="Folder with RAVDESS-named .wav/.flac files (searched recursively)",
        )
        parser.add_argument(
            "--out", type=Path, required=True, help="Model folder to write (replaced if it exists)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--folds",
            type=int,
            default=5,
            help="Speaker folds for the cross-validation in the model card",
        )
        parser.add_argument(
            "--recipe",
            choices=["robust", "v1"],
            default="robust",
            help="robust: ser-default-v2 (multi-condition, calibrated); v1: the first default",
        )
        parser.add_argument(
            "--conditions",
            default=None,
            help="robust recipe: comma-separated benchmark conditions (default: all)",
        )
        parser.add_argument(
            "--augmented-copies",
            type=int,
            default=None,
            help="augmented copies of each clip (default: 2 for robust, 0 for v1)",
        )
        parser.add_argument(
            "--cache-dir",
            type=Path,
            default=None,
            help="Feature cache folder (speeds up re-training)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.engine.training.train import train_default_model

        if not options["data"].is_dir():
            raise CommandError(f"No such folder: {options['data']}")
        started = time.monotonic()
        if options["recipe"] == "robust":
            self._robust(options, started)
            return
        if options["augmented_copies"] is None:
            options["augmented_copies"] = 0
        try:
            result = train_default_model(
                options["data"],
                options["out"],
                seed=options["seed"],
                folds=options["folds"],
                augmented_copies=options["augmented_copies"],
                cache_dir=options["cache_dir"],
                log=lambda line: self.stdout.write(line),
            )
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        cv = result.get("cv", {})
        self.stdout.write(
            f"\nTrained in {time.monotonic() - started:.0f} s; "
            f"model folder {options['out']} "
            f"({result.get('size_bytes', 0) / 1e6:.1f} MB)."
        )
        for key, title in (
            ("eight_class", "8 emotions"),
            ("four_class", "4 emotions"),
            ("valence", "3 valence classes"),
        ):
            block = cv.get(key)
            if block:
                self.stdout.write(
                    f"{title:<18} UA {pct(block.get('ua_mean'))} ± {pct(block.get('ua_std'))}  "
                    f"WA {pct(block.get('wa_mean'))} ± {pct(block.get('wa_std'))}"
                )
        if options["verbosity"] >= 2:
            self.stdout.write(json.dumps(cv, indent=1))

    def _robust(self, options: dict[str, Any], started: float) -> None:
        from analysis.engine.training.robustness import table
        from analysis.engine.training.train import ROBUST_RECIPE_COPIES, train_robust_model

        copies = options["augmented_copies"]
        notes_file = Path(__file__).resolve().parents[2] / "experiments" / "card_notes_v2.md"
        try:
            bench = train_robust_model(
                options["data"],
                options["out"],
                seed=options["seed"],
                folds=options["folds"],
                copies=ROBUST_RECIPE_COPIES if copies is None else copies,
                conditions=options["conditions"].split(",") if options["conditions"] else None,
                cache_dir=options["cache_dir"],
                card_notes=notes_file.read_text() if notes_file.is_file() else "",
                log=lambda line: self.stdout.write(line),
            )
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(table(bench))
        self.stdout.write(
            f"\nTrained in {time.monotonic() - started:.0f} s; model folder {options['out']}; "
            f"temperature {bench['temperature']:.3f}, reliable confidence "
            f"{bench['reliable_confidence']:.3f}."
        )
