"""Forms of the clinic validation pages."""

from __future__ import annotations

from django import forms

from sessions.validation.models import EMOTION_ANSWERS, SPEAKER_ANSWERS
from sessions.validation.services import MAX_SAMPLE_SIZE


class ReviewAnswerForm(forms.Form):
    emotion = forms.ChoiceField(
        choices=EMOTION_ANSWERS,
        widget=forms.RadioSelect,
        label="How does the voice sound?",
        error_messages={"required": "Choose an emotion, or Can't tell."},
    )
    speaker = forms.ChoiceField(
        choices=SPEAKER_ANSWERS,
        widget=forms.RadioSelect,
        label="Who is speaking?",
        error_messages={"required": "Choose who is speaking, or Can't tell."},
    )


class ValidationSettingsForm(forms.Form):
    weekly_sample_size = forms.IntegerField(
        min_value=1,
        max_value=MAX_SAMPLE_SIZE,
        label="Segments per therapist per week",
    )
    uncertain_share = forms.IntegerField(
        min_value=0, max_value=100, label="Of which the model was least sure (%)"
    )
    second_rater_share = forms.IntegerField(
        min_value=0, max_value=100, label="Also labelled by a second therapist (%)"
    )
