"""``manage.py apply_retention [--dry-run]``: apply every clinic's audio retention rule now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions.families.retention import retention_apply


class Command(BaseCommand):
    help = "Delete raw audio older than each clinic's retention period (what the daily task does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be deleted without deleting anything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        outcomes = retention_apply(dry_run=dry_run)
        if not outcomes:
            self.stdout.write("No clinic has an audio retention period set; nothing to do.")
            return
        verb = "would delete" if dry_run else "deleted"
        for o in outcomes:
            attempts = (
                "not counted in a dry run"
                if o.attempt_audio_deleted is None and dry_run
                else "exercises app not available"
                if o.attempt_audio_deleted is None
                else str(o.attempt_audio_deleted)
            )
            self.stdout.write(
                f"Clinic {o.clinic_id} (keep {o.retention_days} days, cutoff {o.cutoff}): "
                f"{verb} audio of {o.recordings_audio_deleted} recording(s), "
                f"{o.analysis_runs_deleted} analysis run(s) without analysis consent; "
                f"practice audio: {attempts}."
            )
            for error in o.errors:
                self.stderr.write(f"  could not delete: {error}")
