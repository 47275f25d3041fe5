"""Forms of the model registry console: import, label-map confirmation, try on a recording."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from django import forms

from analysis.engine.labels import CANONICAL_LABELS
from sessions.models import Recording

IGNORE = "__none__"
_NAME_HELP = "Letters, digits, dots, dashes and underscores."


class ModelImportForm(forms.Form):
    archive = forms.FileField(
        label="Model archive (.zip or .tar.gz)",
        help_text=(
            "A Hugging Face audio-classification model folder packed with zip or tar: "
            "config.json, model.safetensors and preprocessor_config.json."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".zip,.tar,.tar.gz,.tgz,application/zip,application/gzip",
                "aria-describedby": "archive-help",
            }
        ),
    )
    name = forms.RegexField(
        label="Name",
        regex=r"^[\w.\-]+$",
        max_length=100,
        required=False,
        help_text="Defaults to the archive's file name. " + _NAME_HELP,
    )
    version = forms.RegexField(
        label="Version",
        regex=r"^[\w.\-]+$",
        max_length=50,
        initial="1",
        help_text=_NAME_HELP,
    )
    allow_pickle = forms.BooleanField(
        label="Allow pickle weights (pytorch_model.bin)",
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "pickle-warning"}),
        help_text=(
            "Pickled weights can run arbitrary code when loaded. Tick this only for "
            "a model from a source you trust. They are read with weights_only=True and stored "
            "as safetensors."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        archive = cleaned.get("archive")
        if archive is not None and not cleaned.get("name"):
            stem = PurePath(archive.name).name
            for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
                if stem.lower().endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
            safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem)[:100]
            cleaned["name"] = safe.strip("-") or "imported-model"
        return cleaned


def _label_choices() -> list[tuple[str, str]]:
    return [
        ("", "— choose —"),
        *[(label, label.capitalize()) for label in CANONICAL_LABELS],
        (IGNORE, "Ignore (no portal emotion)"),
    ]


class LabelMapForm(forms.Form):
    """One select per model label, preset to the suggested portal emotion."""

    def __init__(
        self,
        *args: Any,
        labels: Sequence[str],
        suggested: dict[str, str | None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.labels = list(labels)
        for i, label in enumerate(self.labels):
            suggestion = suggested.get(label)
            self.fields[f"label_{i}"] = forms.ChoiceField(
                label=f"Model label “{label}”",
                choices=_label_choices(),
                initial=suggestion or "",
                help_text=(
                    f"Suggested: {suggestion}." if suggestion else "No safe suggestion: choose."
                ),
            )

    def label_map(self) -> dict[str, str | None]:
        return {
            label: (
                None
                if self.cleaned_data[f"label_{i}"] == IGNORE
                else self.cleaned_data[f"label_{i}"]
            )
            for i, label in enumerate(self.labels)
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = [cleaned.get(f"label_{i}") for i in range(len(self.labels))]
        if values and all(value == IGNORE for value in values):
            raise forms.ValidationError("Map at least one model label to a portal emotion.")
        return cleaned


class TryOnRecordingForm(forms.Form):
    recording = forms.ChoiceField(label="Recording")
    start_s = forms.FloatField(
        label="Start at (seconds)",
        min_value=0,
        initial=0,
        help_text="Where in the recording the excerpt starts.",
    )
    seconds = forms.IntegerField(
        label="Excerpt length (seconds)",
        min_value=5,
        max_value=60,
        initial=30,
        help_text="Both models label this excerpt now; 5 to 60 seconds.",
    )

    def __init__(self, *args: Any, recordings: Sequence[Recording], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["recording"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— choose a recording —")] + [
            (
                str(r.pk),
                f"{r.session.child.code} · {r.session.date:%Y-%m-%d} · "
                + (f"{r.duration_s / 60:.0f} min" if r.duration_s else "length unknown"),
            )
            for r in recordings
        ]
