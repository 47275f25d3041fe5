"""Forms for therapists: a clip (recorded or uploaded, tagged with its emotion), a set, an
assignment on the weekday schedule."""

from __future__ import annotations

from typing import Any

from django import forms

from sessions.exercises.forms import AUDIO_ACCEPT, ScheduleForm
from sessions.exercises.models import EMOTION_CHOICES
from sessions.listening.models import Clip, Intensity, ListeningSet


class ClipForm(forms.Form):
    emotion = forms.ChoiceField(
        choices=[("", "Choose the feeling…"), *EMOTION_CHOICES],
        label="Which feeling does the voice show?",
        help_text="You decide: the child's answers are scored against this label.",
    )
    intensity = forms.ChoiceField(choices=Intensity.choices, initial=Intensity.STRONG)
    words = forms.CharField(max_length=200, required=False, label="What the voice says")
    file = forms.FileField(
        label="Recording",
        help_text="Record it above, or choose a file (up to one minute).",
        widget=forms.FileInput(attrs={"accept": AUDIO_ACCEPT}),
    )
    recorded = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ClipTagForm(forms.Form):
    emotion = forms.ChoiceField(choices=EMOTION_CHOICES, label="Feeling")


class SetForm(forms.Form):
    title = forms.CharField(max_length=120)
    choice_count = forms.TypedChoiceField(
        choices=[(2, "2 (easiest)"), (3, "3"), (4, "4 (hardest)")],
        coerce=int,
        initial=2,
        label="Choices per clip",
    )
    clips = forms.ModelMultipleChoiceField(
        queryset=Clip.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, clinic: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["clips"]
        field.queryset = Clip.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, archived_at__isnull=True
        )
        field.label_from_instance = lambda c: (  # type: ignore[attr-defined]
            f"{c.get_emotion_display()} · {c.get_intensity_display().lower()}"
            f"{' · noisy' if c.noise_snr_db is not None else ''} · {c.get_source_display()}"
            f"{f' · “{c.words}”' if c.words else ''}"
        )


class ListeningAssignForm(ScheduleForm):
    listening_set = forms.ModelChoiceField(
        queryset=ListeningSet.objects.none(), empty_label="Choose a listening set…",
        label="Listening set",
    )  # fmt: skip
    field_order = ["listening_set"]

    def __init__(self, *args: Any, clinic: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["listening_set"]
        field.queryset = ListeningSet.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, archived_at__isnull=True
        )
        field.label_from_instance = lambda s: f"{s.title} ({s.choice_count} choices)"  # type: ignore[attr-defined]
