"""Audit completeness: every successful read of a child's data in the authorization matrix
writes exactly one audit entry, by the reader, in the log of the clinic whose data was read.

The walk is every GET entry of the matrix (``tests/authz/entries_*.py``) as every persona that
is allowed to read it (expected 200), minus the pages listed below that hold no child's data.
``test_every_url_is_in_the_matrix`` keeps the matrix complete, so this covers every URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.models.audit import AuditEvent
from tests.authz.matrix import Endpoint
from tests.authz.test_matrix import ENTRIES
from tests.conftest import PERSONAS, Cast

# Pages that answer 200 but show nothing of a child, with the reason.
NO_CHILD_DATA = {
    "api-schema": "the API's description",
    "console": "counts of the clinic's members and children",
    "console_members": "the clinic's accounts and invitations (no child is named)",
    "console_audit": "the log itself: ids and actions, no child's record",
    "api-audit-log": "the log itself, as on the console page",
    "console_consent_text": "the clinic's consent wording",
    "console_models": "the clinic's emotion models",
    "console_model_import": "a model upload form",
    "console_model_import_confirm": "a model's label mapping",
    "console_model_detail": "a model's labels and evaluation figures",
    "console_model_activate": "a confirmation page about a model",
    "console_model_retire": "a confirmation page about a model",
    "console_model_evaluate": "a model's evaluation and its progress",
    "exercise_list": "the clinic's exercise library",
    "exercise_create": "an empty exercise form",
    "exercise_edit": "an exercise of the library",
    "exercise_audio": "the model recording a therapist made for an exercise",
    "api-exercises": "the clinic's exercise library",
    "api-exercise": "an exercise of the library",
    "voice_enrollment": "the therapist's own voice profile",
    "invitation": "an invitation to join a clinic",
    "listening_library": "the clinic's listening clips and sets",
    "listening_clip_create": "an empty clip form",
    "listening_set_create": "a set form listing the clinic's clips",
    "listening_clip_audio": "a listening clip (a therapist's or generated voice, never a child's)",
    "validation_clinic": "the clinic's blind-review settings and counts",
    "validation_job": "a validation job's progress",
}

READS = [
    (entry, persona)
    for entry in ENTRIES
    for persona in PERSONAS
    if entry.method == "get" and entry.expect[persona] == 200 and entry.name not in NO_CHILD_DATA
]


def _url(entry: Endpoint, cast: Cast) -> str:
    url = reverse(entry.name, kwargs=entry.kwargs(cast))
    if entry.query:
        url += "?" + urlencode(entry.query(cast))
    return url


def test_exemptions_name_urls_of_the_matrix() -> None:
    reads = {entry.name for entry in ENTRIES if entry.method == "get"}
    assert set(NO_CHILD_DATA) - reads == set()
    # 107 reads (persona x entry) of 42 URLs when this was written; the walk must not shrink.
    assert len({entry.name for entry, _ in READS}) >= 40


@pytest.mark.parametrize(
    ("entry", "persona"),
    READS,
    ids=[f"{e.name}{'-' + e.label if e.label else ''}-{p}" for e, p in READS],
)
def test_each_read_of_a_childs_data_writes_one_audit_entry(
    entry: Endpoint, persona: str, cast: Cast
) -> None:
    user = cast.user(persona)
    assert user is not None
    url = _url(entry, cast)  # builds the entry's objects, whose own services may audit
    client = APIClient()
    client.force_login(user)  # a login is audited too
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    response = client.get(url)

    assert response.status_code == 200
    new: Any = AuditEvent.objects.exclude(pk__in=before)
    rows = list(new.values("actor_id", "action", "object_type", "clinic_id", "path"))
    assert len(rows) == 1, f"{entry.name} as {persona}: {len(rows)} audit entries: {rows}"
    row = rows[0]
    assert row["actor_id"] == user.pk
    assert row["path"] == url.split("?")[0]
    assert row["action"] in {"view", "list", "export", "download"}
    if entry.kwargs(cast):
        # A read of one object is logged in the clinic of the data read.
        assert row["clinic_id"] == cast.clinic.pk
