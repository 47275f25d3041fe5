"""The practice page's "My tries" fragment, which the recorder reloads after each try so the
list and the chart show the new try without a reload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sessions.models import AuditEvent
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import done_attempt, make_assignment, make_exercise

pytestmark = pytest.mark.django_db


def _get(user: Any, assignment: Any, **query: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(reverse("exercise_practice", args=[assignment.pk]), query)


def test_the_fragment_holds_the_list_and_the_chart_of_every_try(cast: Cast) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    done_attempt(assignment, stars=2, target_probability=0.5)
    newest = done_attempt(assignment, stars=3, target_probability=0.9)
    response = _get(cast.guardian, assignment, fragment="history")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<section") and "<html" not in page
    assert reverse("attempt_result", args=[newest.pk]) in page
    start = page.index('<script id="exercise-figure" type="application/json">')
    figure = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert figure["data"][0]["y"] == [50, 90]
    assert AuditEvent.objects.filter(
        actor=cast.guardian, object_id=str(assignment.pk), action="view"
    ).exists()


def test_the_page_tells_the_recorder_where_the_fragment_is(cast: Cast) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    page = _get(cast.guardian, assignment).content.decode()
    assert "?fragment=history" in page
    assert 'data-plotly-src="' in page  # Plotly loads once the first try brings a chart


def test_another_family_cannot_read_the_fragment(cast: Cast) -> None:
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    assert _get(cast.other_guardian, assignment, fragment="history").status_code == 404
