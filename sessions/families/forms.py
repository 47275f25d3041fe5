"""Forms of the consent console, the report composer and the retention setting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from sessions.families.models import (
    CONSENT_TEXT_MAX_LENGTH,
    REPORT_COMMENTS_MAX_LENGTH,
    ConsentPurpose,
)
from sessions.models import Child, TherapySession

DEFAULT_TEXTS: dict[str, str] = {
    "recording": (
        "I agree that my child's therapy sessions may be audio-recorded and that the recordings "
        "are stored securely by the clinic. I can withdraw this consent at any time; the "
        "recordings and everything derived from them are then deleted."
    ),
    "analysis": (
        "I agree that the recordings of my child's sessions may be analysed by a computer "
        "program that estimates emotions in the voice. The results support the therapist and "
        "never replace their judgement. I can withdraw this consent at any time."
    ),
    "sharing": (
        "I would like to receive progress reports about my child through the family portal. "
        "I can withdraw this consent at any time."
    ),
    "training": (
        "I agree that recordings of my child's sessions may be used to improve the emotion "
        "analysis for all the clinic's children. Recordings never leave the clinic's system. "
        "I can withdraw this consent at any time; they are then no longer used."
    ),
}


class ConsentTextForm(forms.Form):
    body = forms.CharField(
        label="Wording shown to the guardian",
        max_length=CONSENT_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Saving creates a new version. Consents already given keep pointing at the "
        "version the guardian saw.",
    )


class ConsentGrantForm(forms.Form):
    given_by = forms.CharField(
        label="Name of the guardian who gave consent",
        max_length=200,
        help_text="As written on the signed form.",
    )
    text_shown = forms.BooleanField(
        label="The guardian was shown this version of the text and agreed to it",
    )


class ConsentRevokeForm(forms.Form):
    """Revoking recording consent deletes data: the admin types the child's code to confirm."""

    confirm_code = forms.CharField(
        label="Type the child's code to confirm", max_length=12, required=False
    )
    understood = forms.BooleanField(label="I understand what revoking this consent does")

    def __init__(self, *args: Any, child: Child, needs_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.child = child
        self.needs_code = needs_code
        if not needs_code:
            del self.fields["confirm_code"]
        else:
            self.fields["confirm_code"].required = True
            self.fields["confirm_code"].help_text = f"The code is {child.code}."

    def clean_confirm_code(self) -> str:
        code = str(self.cleaned_data.get("confirm_code", "")).strip().upper()
        if code != self.child.code:
            raise forms.ValidationError("That is not this child's code. Nothing was deleted.")
        return code


class OnlineSignatureForm(forms.Form):
    """A guardian signs a consent change online by typing their name."""

    signature = forms.CharField(
        label="Type your full name to sign",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="Your typed name is your signature. It is stored with the date and time.",
        error_messages={"required": "Type your full name to sign."},
    )
    agree = forms.BooleanField(error_messages={"required": "Tick the box to confirm."})
    text_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, agree_label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agree"].label = agree_label

    def clean_signature(self) -> str:
        value = " ".join(str(self.cleaned_data.get("signature", "")).split())
        if len(value) < 2:
            raise forms.ValidationError("Type your full name to sign.")
        return value


class OnlineConsentPolicyForm(forms.Form):
    purposes = forms.MultipleChoiceField(
        label="Guardians may give or withdraw these consents online",
        choices=ConsentPurpose.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Consents not ticked are changed only at the clinic, by an admin.",
    )


class RetentionForm(forms.Form):
    audio_retention_days = forms.IntegerField(
        label="Delete session audio after this many days",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty to keep audio until consent is revoked. Analysis results stay "
        "while analysis consent holds.",
    )


class SessionChoiceField(forms.ModelMultipleChoiceField[TherapySession]):
    def label_from_instance(self, obj: TherapySession) -> str:
        return f"{obj.date:%d %b %Y} · {obj.get_kind_display()}" + (
            f" · {obj.title}" if obj.title else ""
        )


class ReportForm(forms.Form):
    title = forms.CharField(max_length=200, initial="Progress report")
    period_start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    sessions = SessionChoiceField(
        queryset=TherapySession.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave every box empty to include all sessions in the period.",
    )
    comments = forms.CharField(
        label="Your comments for the family",
        required=False,
        max_length=REPORT_COMMENTS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Shown to the family in the report. Your private session notes are never "
        "included.",
    )
    include_listening = forms.BooleanField(
        required=False,
        label="Include listening practice",
        help_text="Right answers per feeling and the most common mix-ups in the period.",
    )

    def __init__(self, *args: Any, child: Child, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.child = child
        self.fields["sessions"].queryset = self.child_sessions()  # type: ignore[attr-defined]

    def child_sessions(self) -> QuerySet[TherapySession]:
        return TherapySession.objects.filter(child=self.child).order_by("-date", "-created_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("period_start")
        end: dt.date | None = data.get("period_end")
        if start is None or end is None:
            return data
        if start > end:
            self.add_error("period_end", "The period must end after it starts.")
            return data
        chosen = list(data.get("sessions") or [])
        outside = [s for s in chosen if not start <= s.date <= end]
        if outside:
            self.add_error(
                "sessions",
                "Some chosen sessions are outside the period: "
                + ", ".join(f"{s.date:%d %b %Y}" for s in outside)
                + ".",
            )
            return data
        if not chosen:
            chosen = list(self.child_sessions().filter(date__gte=start, date__lte=end))
            if not chosen:
                self.add_error("period_start", "There are no sessions in this period.")
        data["sessions"] = chosen
        return data
