from __future__ import annotations

from typing import Any

from django import forms

from sessions.models import Child, Role, SessionKind, TherapySession, User
from sessions.models.therapy import SESSION_NOTES_MAX_LENGTH


class TherapySessionForm(forms.ModelForm[TherapySession]):
    notes = forms.CharField(
        required=False,
        max_length=SESSION_NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    class Meta:
        model = TherapySession
        fields = ["date", "kind", "title", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }


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
