"""``manage.py train_model --data DIR --out PATH [--seed N]``: train the shipped default model
(acoustic features + head ensemble) on a RAVDESS-style folder, with its speaker
cross-validation written into the model card. Wraps ``analysis.training.train_default_model``.
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
        parser.add_argument("--augmented-copies", type=int, default=0)
        parser.add_argument(
            "--cache-dir",
            type=Path,
            default=None,
            help="Feature cache folder (speeds up re-training)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.training import train_default_model

        if not options["data"].is_dir():
            raise CommandError(f"No such folder: {options['data']}")
        started = time.monotonic()
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
