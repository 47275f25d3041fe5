"""Regenerate the starter listening clips (generated speech) and their manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions.listening import starter


class Command(BaseCommand):
    help = (
        "Generate the starter listening clips with espeak-ng (Ogg Opus, 16 kHz; strong, "
        "normal and noisy variants) into sessions/listening/starter_audio/ with a manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=starter.AUDIO_DIR)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            entries = starter.build(options["out"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(int(e["size_bytes"]) for e in entries.values())
        for key, entry in sorted(entries.items()):
            self.stdout.write(
                f"{key:24s} {entry['duration_s']:5.2f} s {entry['size_bytes']:6d} bytes"
            )
        self.stdout.write(f"{len(entries)} clips, {total} bytes in all")
