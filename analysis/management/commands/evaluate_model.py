"""``manage.py evaluate_model VERSION --data DIR [--folds K]``: score a model on labelled
(RAVDESS-named) audio: UA, WA, per-class recall and precision and the confusion matrix for the
8 portal emotions, the 4-class subset and the 3 valence classes. With ``--folds K`` the clips
are also split into K speaker-disjoint folds and the spread over folds is reported.

VERSION is a registry version id, ``name:version`` or a model folder. Results of a registry
version are stored on it (shown in the console) unless ``--no-store``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.management.commands._registry_cli import model_from_option, pct
from analysis.registry.evaluation import score

__all__ = ["Command", "score"]  # train_head scores held-out speakers with the same function


class Command(BaseCommand):
    help = "Evaluate an emotion model on RAVDESS-named audio and store the figures."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("model", help="Registry version id, name:version, or model folder")
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument(
            "--folds",
            type=int,
            default=0,
            help="Also report mean ± std over K speaker-disjoint folds",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--clinic", help="Clinic slug, when name:version is ambiguous")
        parser.add_argument(
            "--no-store",
            action="store_true",
            help="Do not store the results on the registry version",
        )
        parser.add_argument("--json", action="store_true", help="Print the results as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.engine.classifiers import ModelFormatError
        from analysis.engine.training.datasets import scan_ravdess
        from analysis.registry.active import load_for_inference

        version, model_dir = model_from_option(options["model"], options["clinic"])
        try:
            clips = scan_ravdess(options["data"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        try:
            classifier = load_for_inference(model_dir)
        except (ModelFormatError, OSError) as exc:
            raise CommandError(f"Cannot load the model: {exc}") from exc
        try:
            result = score(classifier, clips, folds=options["folds"], seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result["data"] = Path(options["data"]).name
        result["command"] = "evaluate_model"
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print(result)
        if version is not None and not options["no_store"]:
            from analysis.registry.services import model_store_evaluation

            model_store_evaluation(version=version, evaluation=result)
            if not options["json"]:
                self.stdout.write(f"\nStored on {version.name} {version.version} ({version.pk}).")

    def _print(self, result: dict[str, Any]) -> None:
        write = self.stdout.write
        write(
            f"{result['n_clips']} clips, {result['speakers']} speakers, model "
            f"{result['model']['name']} {result['model']['version']}"
        )
        for key, title in (
            ("eight_class", "8 emotions"),
            ("four_class", "4 emotions"),
            ("valence", "3 valence classes"),
        ):
            block = result[key]
            line = f"\n{title}: UA {pct(block['ua'])}  WA {pct(block['wa'])}  (n={block['n']})"
            folds = result.get("folds", {}).get(key)
            if folds:
                line += (
                    f"; over {result['folds']['k']} speaker folds UA "
                    f"{pct(folds['ua_mean'])} ± {pct(folds['ua_std'])}, WA "
                    f"{pct(folds['wa_mean'])} ± {pct(folds['wa_std'])}"
                )
            write(line)
            labels = block["confusion"]["labels"]
            write(f"  {'class':<10} {'recall':>7} {'precision':>9}")
            for label in labels:
                if label in block["recall"] or label in block["precision"]:
                    recall = block["recall"].get(label)
                    precision = block["precision"].get(label)
                    write(f"  {label:<10} {pct(recall):>7} {pct(precision):>9}")
            width = max(len(label) for label in labels) + 1
            write("  confusion (rows true, columns predicted):")
            write("  " + " " * width + " ".join(f"{label[:6]:>6}" for label in labels))
            for label, row in zip(labels, block["confusion"]["matrix"], strict=True):
                write(f"  {label:<{width}}" + " ".join(f"{count:>6}" for count in row))
