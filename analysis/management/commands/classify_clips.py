"""``manage.py classify_clips DIR [--model VERSION] --json``: label every audio file under
DIR (recursively) with one emotion, the whole clip as one window, through the same code path as
the pipeline (``analysis.engine.audio.decode.decode`` and ``classifier.predict_proba``).

Prints one line per file: ``{"path", "label", "probabilities": {emotion: p}}`` (with
``--json``; a table otherwise). A file that cannot be decoded gets ``"label": null`` and an
``"error"``. No database is needed when --model is a folder or omitted (the shipped default).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from analysis.engine.labels import CANONICAL_LABELS

AUDIO_SUFFIXES = {
    ".wav",
    ".flac",
    ".mp3",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".webm",
    ".mp4",
    ".mka",
    ".wma",
    ".aif",
    ".aiff",
}


class Command(BaseCommand):
    help = "Classify each audio file under a folder with one emotion (JSON lines with --json)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--model",
            default=None,
            help="Model folder, registry version id or name:version "
            "(default: the shipped default model)",
        )
        parser.add_argument("--clinic", help="Clinic slug, when name:version is ambiguous")
        parser.add_argument("--json", action="store_true", help="One JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.engine.audio.decode import AudioError, decode
        from analysis.engine.classifiers import ModelFormatError
        from analysis.management.commands._registry_cli import model_from_option
        from analysis.registry.active import load_for_inference
        from analysis.services import audio_limits

        directory: Path = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"No such folder: {directory}")
        _version, model_dir = model_from_option(options["model"], options["clinic"])
        if not Path(model_dir).is_dir():
            raise CommandError(f"The model folder {model_dir} does not exist.")
        try:
            classifier = load_for_inference(model_dir)
        except (ModelFormatError, OSError) as exc:
            raise CommandError(f"Cannot load the model: {exc}") from exc
        limits = audio_limits()
        files = sorted(
            p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        )
        if not files:
            raise CommandError(f"No audio files under {directory}.")
        failures = 0
        for path in files:
            try:
                audio = decode(path, limits)
            except AudioError as exc:
                failures += 1
                self._emit(
                    options["json"],
                    {"path": str(path), "label": None, "probabilities": None, "error": exc.message},
                )
                continue
            row = np.asarray(classifier.predict_proba([audio]))[0]
            probabilities = {
                label: round(float(p), 6) for label, p in zip(CANONICAL_LABELS, row, strict=True)
            }
            label = CANONICAL_LABELS[int(row.argmax())] if row.sum() > 0 else None
            self._emit(
                options["json"], {"path": str(path), "label": label, "probabilities": probabilities}
            )
        if failures:
            self.stderr.write(f"{failures} of {len(files)} files could not be decoded.")

    def _emit(self, as_json: bool, item: dict[str, Any]) -> None:
        if as_json:
            self.stdout.write(json.dumps(item))
        elif item["label"] is None:
            self.stdout.write(f"{item['path']}\t-\t{item.get('error', 'no label')}")
        else:
            self.stdout.write(
                f"{item['path']}\t{item['label']}\t{item['probabilities'][item['label']]:.2f}"
            )
