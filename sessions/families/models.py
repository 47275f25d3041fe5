"""Consent: versioned texts and per-child, per-purpose records with revocation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from sessions.models import Child, Clinic
from sessions.models.base import TimestampedModel


class ConsentPurpose(models.TextChoices):
    RECORDING = "recording", "Recording sessions"
    ANALYSIS = "analysis", "Automated emotion analysis"
    SHARING = "sharing", "Sharing reports with the family"
    TRAINING = "training", "Using recordings to improve models"


class ConsentText(TimestampedModel):
    """The wording shown to the guardian. Editing creates a new version; old ones stay."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="consent_texts")
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["clinic", "purpose", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "purpose", "version"],
                                    name="unique_consent_text_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} v{self.version}"


class ConsentRecord(TimestampedModel):
    """A guardian's consent for one purpose. Revocation sets ``revoked_at``; rows are kept."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="records")
    given_by = models.CharField(max_length=200, help_text="The guardian who consented")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["child", "purpose", "-recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["child", "purpose"], condition=Q(revoked_at=None),
                                    name="one_live_consent_per_purpose")
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.purpose} {'revoked' if self.revoked_at else 'given'}"
