"""Forms for therapists (exercises, assignments, reviews) and the families' file fallback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from sessions.exercises.models import (
    EMOTION_CHOICES,
    WEEKDAY_NAMES,
    Difficulty,
    Exercise,
)

AUDIO_ACCEPT = "audio/*,.webm,.ogg,.opus,.m4a,.mp3,.wav,.flac"


class ExerciseForm(forms.Form):
    title = forms.CharField(max_length=120, help_text="A short name the child will see.")
    phrase = forms.CharField(
        max_length=300, label="Phrase to say", help_text="For example: “I'm so happy to see you!”"
    )
    target_emotion = forms.ChoiceField(choices=EMOTION_CHOICES, label="Target emotion")
    goal = forms.CharField(
        max_length=120,
        required=False,
        label="Social-skills goal",
        help_text="For example: greeting someone, saying no calmly.",
    )
    difficulty = forms.TypedChoiceField(
        choices=Difficulty.choices, coerce=int, initial=Difficulty.EASY
    )
    instructions = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the child and family. Keep it short and friendly.",
    )
    model_audio = forms.FileField(
        required=False,
        label="Model recording (optional)",
        help_text="You saying the phrase with the target emotion, up to one minute.",
        widget=forms.ClearableFileInput(attrs={"accept": AUDIO_ACCEPT}),
    )
    remove_model_audio = forms.BooleanField(required=False, label="Remove the model recording")
    archived = forms.BooleanField(
        required=False, label="Archived (hidden from the list when assigning)"
    )

    def __init__(self, *args: Any, instance: Exercise | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": instance.title, "phrase": instance.phrase,
                "target_emotion": instance.target_emotion, "goal": instance.goal,
                "difficulty": instance.difficulty, "instructions": instance.instructions,
                "archived": instance.archived_at is not None,
            }  # fmt: skip
        super().__init__(*args, **kwargs)
        self.fields["model_audio"].widget = forms.FileInput(attrs={"accept": AUDIO_ACCEPT})
        if instance is None or not instance.model_audio:
            del self.fields["remove_model_audio"]
        if instance is None:
            del self.fields["archived"]


class WeekdaysField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[(i, name) for i, name in enumerate(WEEKDAY_NAMES)], coerce=int,
            widget=forms.CheckboxSelectMultiple, **kwargs,
        )  # fmt: skip


class ScheduleForm(forms.Form):
    """The weekday schedule of an assignment, speaking exercise or listening set alike
    (``WeekdaySchedule`` on the models): the days, from when, until when, a note."""

    weekdays = WeekdaysField(label="Practice days", initial=list(range(7)))
    starts_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="Until (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to keep it going until you stop it.",
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        label="Note for the family",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_on: dt.date | None = data.get("starts_on")
        ends_on: dt.date | None = data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The end date must be on or after the start date.")
        if not data.get("weekdays") and "weekdays" not in self.errors:
            self.add_error("weekdays", "Choose at least one day.")
        return data


class AssignForm(ScheduleForm):
    exercise = forms.ModelChoiceField(
        queryset=Exercise.objects.none(), empty_label="Choose an exercise…"
    )
    field_order = ["exercise"]

    def __init__(self, *args: Any, clinic: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["exercise"]
        field.queryset = Exercise.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, archived_at__isnull=True
        ).order_by("difficulty", "title")
        field.label_from_instance = lambda e: (  # type: ignore[attr-defined]
            f"{e.title} — “{e.phrase}” ({e.get_target_emotion_display()}, "
            f"{e.get_difficulty_display().lower()})"
        )


STAR_CHOICES = [
    ("", "Keep the model's verdict"),
    ("1", "1 star"),
    ("2", "2 stars"),
    ("3", "3 stars"),
]
CONVEYED_CHOICES = [
    ("", "Keep the model's verdict"),
    ("yes", "Yes, it came across"),
    ("no", "Not yet"),
]


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(
        choices=STAR_CHOICES,
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        label="Stars",
    )
    conveyed = forms.TypedChoiceField(
        choices=CONVEYED_CHOICES,
        required=False,
        empty_value=None,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label="Did the voice convey the target emotion?",
    )
    encouragement = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Encouragement for the family",
        help_text="The child and family see this next to the attempt.",
    )


class AttemptUploadForm(forms.Form):
    """Fallback for browsers that cannot record in the page: a recording from the device."""

    file = forms.FileField(
        label="Choose or make a recording",
        widget=forms.FileInput(attrs={"accept": "audio/*", "capture": "user"}),
    )
    client_token = forms.UUIDField(required=False, widget=forms.HiddenInput)
