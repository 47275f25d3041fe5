"""``manage.py analyze_file PATH [--json]``: the whole pipeline on one file, no database."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.engine.audio.decode import AudioError
from analysis.engine.classifiers import ModelFormatError
from analysis.registry.active import SHIPPED_DIR, load_for_inference

DEFAULT_MODEL = SHIPPED_DIR / "ser-default-v1"


class Command(BaseCommand):
    help = "Analyse an audio file end to end (no database) and print segments and the timeline."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--model",
            type=Path,
            default=DEFAULT_MODEL,
            help="Model directory (default: the shipped default model).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print the timeline document (as the API) plus summary/timings.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.engine.pipeline import analyze_file
        from analysis.services import audio_limits

        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        started = time.perf_counter()
        try:
            classifier = load_for_inference(options["model"])
        except ModelFormatError as exc:
            raise CommandError(f"Cannot load the model: {exc}") from exc
        load_s = time.perf_counter() - started
        progress = None if options["json"] else self._progress
        try:
            result = analyze_file(path, classifier, limits=audio_limits(), progress=progress)
        except AudioError as exc:
            raise CommandError(exc.message) from exc
        document = result.to_dict()
        document.setdefault("timings", {})["model_load_s"] = round(load_s, 3)
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        self.stdout.write(f"\n{path.name}: {document['duration_s']:.1f} s")
        if document["no_speech"]:
            self.stdout.write("No speech was found.")
            return
        self.stdout.write(f"{'start':>8} {'end':>8}  {'speaker':<10} {'emotion':<10} conf")
        for seg in document["segments"]:
            flag = " (uncertain)" if seg["uncertain"] else ""
            self.stdout.write(
                f"{seg['start_s']:8.2f} {seg['end_s']:8.2f}  {seg['speaker']:<10} "
                f"{seg['emotion']:<10} {seg['confidence']:.2f}{flag}"
            )
        self.stdout.write(
            f"\n{len(document['frames'])} timeline windows; timings (s): "
            + json.dumps(document["timings"])
        )

    def _progress(self, stage: str, percent: int) -> None:
        self.stderr.write(f"\r{stage:<12} {percent:3d}%", ending="")
