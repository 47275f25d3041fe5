"""The "Who is Speaker A?" panel of the session page (``{% speaker_names %}``)."""

from __future__ import annotations

from typing import Any

from django import template

from analysis.engine.labels import SPEAKER_ROLE_LABELS
from analysis.models import SpeakerLane
from analysis.voices import selectors as voices
from sessions.workspace import selectors

register = template.Library()


@register.inclusion_tag("workspace/_speaker_names.html", takes_context=True)
def speaker_names(context: Any) -> dict[str, Any]:
    """The voices of the shown recording's analysis: the ones nobody named yet with a small
    form each (only for those who may correct), the named and matched ones with who they are."""
    selected = context.get("selected")
    session = context.get("session")
    recording = getattr(selected, "recording", None)
    run = selectors.shown_run(recording) if recording is not None else None
    lanes = voices.run_lanes(run, session) if run is not None and session is not None else []
    return {
        "recording": recording,
        "lanes": lanes,
        # Analysed before voices were kept: its roles came from pitch, not from voice prints.
        "pitch_roles": run is not None and not lanes and run.segments.exists(),
        "unnamed": [lane for lane in lanes if lane["needs_name"]],
        "choices": voices.participant_choices(session) if lanes else [],
        "can_edit": bool(context.get("can_edit")),
        # The role names the segment list shows (static/workspace/speakers.js reads them).
        "role_labels": SPEAKER_ROLE_LABELS,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("workspace/_voice_correction.html", takes_context=True)
def voice_correction(context: Any) -> dict[str, Any]:
    """ "This voice is ..." in the segment panel: names the selected segment's whole voice."""
    selected = context.get("selected")
    session = context.get("session")
    recording = getattr(selected, "recording", None)
    run = selectors.shown_run(recording) if recording is not None else None
    has_voices = run is not None and SpeakerLane.objects.filter(run=run).exists()
    return {
        "recording": recording if has_voices else None,
        "choices": voices.participant_choices(session) if has_voices and session else [],
    }
