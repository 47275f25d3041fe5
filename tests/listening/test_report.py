"""A progress report includes listening practice only when the therapist ticks the box; a
released report keeps the period's listening figures frozen, and a correction keeps the choice."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions.families import services
from sessions.families.models import ConsentPurpose, ProgressReport
from tests.conftest import Cast
from tests.families.helpers import consent
from tests.listening.factories import answer, make_listening_assignment

pytestmark = pytest.mark.django_db


def _compose(cast: Cast, include: bool) -> ProgressReport:
    client = Client()
    client.force_login(cast.therapist)
    today = timezone.localdate()
    data = {
        "title": "Autumn",
        "period_start": (today - dt.timedelta(days=90)).isoformat(),  # holds the cast session
        "period_end": today.isoformat(),
        "comments": "",
    }
    if include:
        data["include_listening"] = "on"
    response = client.post(reverse("report_create", args=[cast.child.pk]), data)
    assert response.status_code == 302
    return ProgressReport.objects.filter(child=cast.child).latest("created_at")


def test_report_includes_listening_only_when_chosen_and_freezes_it_on_release(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    answer(assignment, "sad", "calm", days_ago=3)
    answer(assignment, "sad", "sad", days_ago=2)
    answer(assignment, "happy", "happy", days_ago=1)
    answer(assignment, "happy", "happy", days_ago=120)  # before the period
    client = Client()
    client.force_login(cast.therapist)

    without = _compose(cast, include=False)
    page = client.get(reverse("report_detail", args=[without.pk])).content.decode()
    assert "Listening practice" not in page

    report = _compose(cast, include=True)
    page = client.get(reverse("report_detail", args=[report.pk])).content.decode()
    assert "Listening practice" in page and "2 of 3 right in this period" in page
    assert "Most often mixed up: sad heard as calm (1)." in page

    consent(cast.child, ConsentPurpose.SHARING)
    released = services.report_release(report=report, actor=cast.therapist)
    frozen = released.summary["listening"]
    assert frozen["answers"] == 3 and frozen["correct"] == 2
    assert {r["emotion"]: (r["answers"], r["correct"]) for r in frozen["per_emotion"]} == {
        "happy": (1, 1), "sad": (2, 1),
    }  # fmt: skip
    answer(assignment, "sad", "happy")  # later answers do not change a released report
    released.refresh_from_db()
    assert released.summary["listening"] == frozen
    correction = services.report_revise(report=released, actor=cast.therapist)
    assert correction.summary == {"include_listening": True}
    form = client.get(reverse("report_edit", args=[correction.pk])).content.decode()
    (box,) = re.findall(r"<input[^>]*name=\"include_listening\"[^>]*>", form)
    assert "checked" in box
