"""``manage.py import_model PATH_OR_ARCHIVE_OR_HUB_ID``: import a Hugging Face
audio-classification checkpoint into a clinic's registry as a staged version (the same checks
as the console's import page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.engine.classifiers.importing import ImportRejected, parse_label_map
from analysis.management.commands._registry_cli import clinic_from_option
from analysis.registry.services import RegistryError, model_activate, model_import


def _default_name(source: str) -> str:
    name = Path(source.rstrip("/")).name
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name[:100] or "imported-model"


class Command(BaseCommand):
    help = (
        "Import an emotion model (a model folder, a .zip/.tar.gz archive of one, or a Hugging "
        "Face Hub id) as a staged version of a clinic."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "source", help="Folder, archive, or Hub id such as superb/wav2vec2-base-superb-er"
        )
        parser.add_argument("--clinic", help="Clinic slug (needed when there are several)")
        parser.add_argument("--name", help="Registry name (default: from the source)")
        parser.add_argument(
            "--model-version",
            dest="model_version",
            default="1",
            help="Registry version (default 1)",
        )
        parser.add_argument(
            "--label-map",
            default="",
            help="Model label to portal emotion, e.g. neu=neutral,hap=happy,xxx=none. Labels "
            "not given take the suggested emotion; labels without a suggestion must be given.",
        )
        parser.add_argument(
            "--allow-pickle",
            action="store_true",
            help="Accept pickled weights (pytorch_model.bin) from a trusted "
            "source; they are re-saved as safetensors.",
        )
        parser.add_argument(
            "--activate", action="store_true", help="Activate the version after importing it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = clinic_from_option(options["clinic"])
        source: str = options["source"]
        if options["allow_pickle"]:
            self.stderr.write(
                "Warning: pickled weights can run code when loaded; they are read with "
                "weights_only=True and stored as safetensors."
            )
        try:
            label_map = parse_label_map(options["label_map"])
            version = model_import(
                clinic=clinic,
                source=source,
                name=options["name"] or _default_name(source),
                version=options["model_version"],
                label_map=label_map,
                allow_pickle=options["allow_pickle"],
            )
            if options["activate"]:
                version = model_activate(version=version, actor=None)
        except (ImportRejected, RegistryError) as exc:
            raise CommandError(exc.message) from exc
        for note in version.import_notes:
            self.stderr.write(f"Note: {note}")
        mapping = ", ".join(
            f"{label}={version.label_map.get(label) or 'none'}" for label in version.labels
        )
        self.stdout.write(
            f"Imported {version.name} {version.version} for {clinic.slug} as {version.pk} "
            f"({version.get_status_display().lower()}).\nLabel map: {mapping}\n"
            f"Checksum: {version.checksum}"
        )
