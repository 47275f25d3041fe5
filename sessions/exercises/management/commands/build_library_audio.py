"""Regenerate the library exercises' model recordings (generated speech) and their manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions.exercises import library_audio


class Command(BaseCommand):
    help = (
        "Generate the model recording of each library exercise with espeak-ng (Ogg Opus, "
        "16 kHz) into sessions/exercises/library_audio/ and write its manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=library_audio.AUDIO_DIR)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            entries = library_audio.build(options["out"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(int(e["size_bytes"]) for e in entries.values())
        for key, entry in sorted(entries.items()):
            self.stdout.write(
                f"{key:20s} {entry['duration_s']:5.2f} s {entry['size_bytes']:6d} bytes"
            )
        self.stdout.write(f"{len(entries)} recordings, {total} bytes in all")
