"""The consent gates. Every upload, analysis and training use asks here first."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from sessions.families.models import ConsentPurpose, ConsentRecord
from sessions.models import Child


class ConsentMissing(PermissionError):
    """The child's guardian has not consented to this purpose (or revoked it)."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        label = ConsentPurpose(purpose).label.lower()
        super().__init__(f"There is no guardian consent for {label} for this child.")


def purpose_or_404(value: str) -> ConsentPurpose:
    """The purpose a URL names; a name that is no purpose answers 404 like any unknown page."""
    if value not in ConsentPurpose.values:
        raise Http404("Not found.")
    return ConsentPurpose(value)


def has_consent(child: Child | object, purpose: str) -> bool:
    child_id: Any = getattr(child, "pk", child)
    return ConsentRecord.objects.filter(
        child_id=child_id, purpose=purpose, revoked_at__isnull=True
    ).exists()


# Practising at home stores the child's voice and has it analysed: recording and analysis.
PRACTICE_PURPOSES = (ConsentPurpose.RECORDING, ConsentPurpose.ANALYSIS)


def has_practice_consent(child: Child | object) -> bool:
    """Whether the child's practice answers and recordings may be stored (speaking exercises
    and listening sets alike)."""
    return all(has_consent(child, purpose) for purpose in PRACTICE_PURPOSES)


def require_consent(child: Child | object, purpose: str) -> None:
    if not has_consent(child, purpose):
        raise ConsentMissing(purpose)


def children_with_consent(purpose: str) -> list[object]:
    return list(
        ConsentRecord.objects.filter(purpose=purpose, revoked_at__isnull=True).values_list(
            "child_id", flat=True
        )
    )
