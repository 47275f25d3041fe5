"""Shared bits of the model-registry management commands (not a command itself)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from analysis.models import EmotionModelVersion
from analysis.registry.selectors import resolve_model
from sessions.models import Clinic


def clinic_from_option(slug: str | None) -> Clinic:
    """The clinic named by --clinic, or the only clinic when there is exactly one."""
    if slug:
        clinic = Clinic.objects.filter(slug=slug).first()
        if clinic is None:
            raise CommandError(f"No clinic with slug {slug!r}.")
        return clinic
    clinics = list(Clinic.objects.order_by("slug")[:20])
    if len(clinics) == 1:
        return clinics[0]
    if not clinics:
        raise CommandError("There is no clinic yet; create one first.")
    slugs = ", ".join(c.slug for c in clinics)
    raise CommandError(f"Several clinics exist; choose one with --clinic ({slugs}).")


def model_from_option(
    spec: str | None, clinic_slug: str | None = None
) -> tuple[EmotionModelVersion | None, Any]:
    try:
        return resolve_model(spec, clinic_slug=clinic_slug)
    except LookupError as exc:
        raise CommandError(str(exc)) from exc


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f}%"
