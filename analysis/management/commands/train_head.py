"""``manage.py train_head ENCODER_VERSION --from-corrections | --data DIR``: train a head on
pooled hidden states of a frozen imported encoder and register it as a *staged* version
"trained here" of the encoder's clinic.

``--from-corrections`` uses the emotion labels therapists chose or confirmed on segments of the
clinic's own sessions, and only for children whose guardian consents to their recordings being
used to improve models (checked at the moment of training). ``--data`` uses RAVDESS-named
files instead. ``--holdout F`` keeps a fraction F of the speakers (children) out of training
and stores the figures on them as the version's evaluation.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.management.commands._registry_cli import model_from_option, pct


class Command(BaseCommand):
    help = "Train a head on a frozen imported encoder and register it as a staged version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "encoder",
            help="Registry version (id or name:version) of an "
            "imported Hugging Face model to use as the frozen encoder",
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--from-corrections",
            action="store_true",
            help="Therapist-corrected segments of the clinic's sessions "
            "(children with training consent only)",
        )
        source.add_argument("--data", type=Path, help="Folder of RAVDESS-named audio")
        parser.add_argument("--clinic", help="Clinic slug, when name:version is ambiguous")
        parser.add_argument("--name", default=None, help="Registry name of the new version")
        parser.add_argument("--model-version", dest="model_version", default=None)
        parser.add_argument(
            "--head", default="logistic", choices=["logistic", "kernel_logistic", "mlp"]
        )
        parser.add_argument("--pooling", default="mean", choices=["mean", "mean+std"])
        parser.add_argument(
            "--keep-layers",
            dest="keep_layers",
            type=int,
            default=None,
            help="Run only the encoder's first N transformer layers (stored with the model)",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--holdout",
            type=float,
            default=0.0,
            help="Fraction of speakers held out for evaluation (0: none)",
        )
        parser.add_argument(
            "--min-clips",
            type=int,
            default=20,
            help="Refuse to train on fewer labelled clips than this",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.engine.training.datasets import group_holdout, label_counts, scan_ravdess
        from analysis.engine.training.train import train_head_on_encoder
        from analysis.registry.selectors import clips_from_corrections
        from analysis.registry.services import (
            RegistryError,
            register_trained_version,
            staging_dir_for_training,
        )

        encoder, encoder_dir = model_from_option(options["encoder"], options["clinic"])
        if encoder is None:
            raise CommandError(
                "The encoder must be a registered model version (id or "
                "name:version), so the new version knows its clinic."
            )
        if encoder.kind != "hf_audio_classification" or not (encoder_dir / "config.json").is_file():
            raise CommandError(
                "The encoder must be an imported Hugging Face model "
                f"(kind hf_audio_classification); {encoder} is {encoder.kind}."
            )
        clinic = encoder.clinic
        if options["from_corrections"]:
            clips, stats = clips_from_corrections(clinic)
            self._audit_training_use(clinic, stats, encoder)
            origin = (
                f"therapist corrections ({stats['clips']} segments, {stats['children']} "
                "children with training consent)"
            )
            self.stdout.write(
                f"{stats['clips']} corrected segments from {stats['children']} "
                f"children with training consent ({stats['skipped']} skipped)."
            )
        else:
            try:
                clips = scan_ravdess(options["data"])
            except FileNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            origin = f"data folder {Path(options['data']).name} ({len(clips)} clips)"
        if len(clips) < options["min_clips"]:
            raise CommandError(
                f"Only {len(clips)} labelled clips; at least {options['min_clips']} are needed "
                "(--min-clips). Correct more segments, or check training consent."
            )
        counts = {k: v for k, v in label_counts(clips).items() if v}
        if len(counts) < 2:
            raise CommandError("The labelled clips cover only one emotion; a head needs two.")
        self.stdout.write("Labels: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        train_clips, test_clips = clips, []
        if options["holdout"] > 0:
            train_idx, test_idx = group_holdout(clips, options["holdout"], options["seed"])
            train_clips = [clips[i] for i in train_idx]
            test_clips = [clips[i] for i in test_idx]
        name = options["name"] or f"{encoder.name}-head"
        version = options["model_version"] or self._next_version(clinic, name)
        staging = staging_dir_for_training(clinic)
        out_dir = staging / "model"
        try:
            classifier = train_head_on_encoder(
                encoder_dir,
                train_clips,
                out_dir,
                seed=options["seed"],
                head=options["head"],
                pooling=options["pooling"],
                keep_layers=options["keep_layers"],
                name=name,
                version=version,
            )
            evaluation = None
            if test_clips:
                from analysis.management.commands.evaluate_model import score

                evaluation = score(classifier, test_clips)
                evaluation["data"] = "held-out speakers"
                evaluation["command"] = "train_head --holdout"
                self.stdout.write(
                    f"Held-out speakers ({len(test_clips)} clips): 8-class UA "
                    f"{pct(evaluation['eight_class']['ua'])}, 4-class UA "
                    f"{pct(evaluation['four_class']['ua'])}"
                )
            row = register_trained_version(
                clinic=clinic,
                model_dir=out_dir,
                name=name,
                version=version,
                origin=origin,
                base_version=encoder,
                evaluation=evaluation,
            )
        except RegistryError as exc:
            raise CommandError(exc.message) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.stdout.write(
            f"Registered {row.name} {row.version} ({row.pk}) as staged for "
            f"{clinic.slug}. Try it in the console before activating it."
        )

    def _next_version(self, clinic: Any, name: str) -> str:
        from analysis.models import EmotionModelVersion

        taken = set(
            EmotionModelVersion.objects.filter(clinic=clinic, name=name).values_list(
                "version", flat=True
            )
        )
        return str(next(n for n in range(1, 10_000) if str(n) not in taken))

    def _audit_training_use(self, clinic: Any, stats: dict[str, Any], encoder: Any) -> None:
        """One audit entry per child whose corrected segments are used for training."""
        from sessions import audit
        from sessions.models import Child
        from sessions.models.audit import AuditAction

        for child in Child.objects.filter(pk__in=list(stats["per_child"])):
            audit.record(
                actor=None,
                action=AuditAction.VIEW,
                object_type="segmentedit",
                child=child,
                detail={
                    "purpose": "training",
                    "segments": stats["per_child"][child.pk],
                    "encoder_version": str(encoder.pk),
                },
            )
