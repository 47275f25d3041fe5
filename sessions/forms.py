from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from sessions.models import Child, Role, SessionKind, TherapySession, User
from sessions.models.therapy import SESSION_NOTES_MAX_LENGTH
from sessions.services import participant_candidates
from sessions.types import Actor


class TherapySessionForm(forms.ModelForm[TherapySession]):
    notes = forms.CharField(
        required=False,
        max_length=SESSION_NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # Who else took part: the analysis expects one voice per person and looks for their prints.
    other_children = forms.ModelMultipleChoiceField(
        queryset=Child.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Other children in this session",
        help_text="For a group session: the other children of your clinic who took part.",
    )
    other_therapists = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Other therapists in this session",
        help_text="Colleagues of your clinic who also led the session.",
    )

    class Meta:
        model = TherapySession
        fields = ["date", "kind", "title", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, child: Child, therapist: Actor | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            # Most sessions are entered the day they happen (UUID keys: pk is set already).
            self.initial.setdefault("date", timezone.localdate())
        children, therapists = participant_candidates(child=child, therapist=therapist)
        self.fields["other_children"].queryset = children  # type: ignore[attr-defined]
        self.fields["other_therapists"].queryset = therapists  # type: ignore[attr-defined]
        if self.instance.pk:
            self.initial.setdefault("other_children", list(self.instance.other_children.all()))
            self.initial.setdefault("other_therapists", list(self.instance.other_therapists.all()))
        if not children.exists():
            self.fields["other_children"].help_text = "No other children in your clinic yet."
        if not therapists.exists():
            self.fields["other_therapists"].help_text = "No other therapists in your clinic yet."


class MemberInviteForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(
        max_length=200, required=False, label="Name (for your list of invitations)"
    )
    role = forms.ChoiceField(choices=Role.choices)


class ChildCreateForm(forms.ModelForm[Child]):
    class Meta:
        model = Child
        fields = ["given_name", "family_name", "date_of_birth"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}


class AssignmentForm(forms.Form):
    therapists = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    guardians = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, child: Child, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Clinic and role in one filter(): the same membership must match both, or a parent
        # here who is a therapist elsewhere would be offered as this child's therapist.
        self.fields["therapists"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            memberships__clinic=child.clinic, memberships__role=Role.THERAPIST
        )
        self.fields["guardians"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            memberships__clinic=child.clinic, memberships__role=Role.GUARDIAN
        )


SESSION_KIND_CHOICES = SessionKind.choices
