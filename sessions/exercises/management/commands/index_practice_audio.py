"""Give practice tries recorded in the browser before seek indexes existed a duration and seek
index (the review page's players then show their length and can jump). Safe to run again: tries
that have one are left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sessions.exercises.attempts import attempt_audio_index
from sessions.exercises.models import Attempt


class Command(BaseCommand):
    help = (
        "Index the WebM audio of practice tries that lack a duration (same sound, new container)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        attempts = (
            Attempt.objects.filter(audio_deleted_at__isnull=True)
            .exclude(audio="")
            .order_by("created_at")
        )
        checked = indexed = 0
        for attempt in attempts.iterator(chunk_size=200):
            checked += 1
            indexed += attempt_audio_index(attempt)
        self.stdout.write(f"{checked} tries with audio checked, {indexed} given a seek index.")
