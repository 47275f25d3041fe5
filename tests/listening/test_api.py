"""Listening pages and API: answers through the API are stored once per client id, refused
without consent with a readable message, the figures and the schema, the family page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.listening.models import ListeningAnswer
from sessions.listening.services import item_choices
from tests.conftest import Cast, grant_consent
from tests.listening.factories import answer, make_listening_assignment

pytestmark = pytest.mark.django_db


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_answer_sent_twice_is_stored_once(cast: Cast) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child, "happy-or-sad")
    clip = assignment.listening_set.clips.filter(emotion="happy").first()
    # Answered an hour ago while offline; sent now.
    when = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    body = {"client_id": str(uuid.uuid4()), "clip": str(clip.pk), "chosen": "sad",
            "response_ms": 2100, "answered_at": when.isoformat()}  # fmt: skip
    url = reverse("api-listening-answers", args=[assignment.pk])
    first = _api(cast.guardian).post(url, body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["correct"] is False and first.json()["target_emotion"] == "happy"
    again = _api(cast.guardian).post(url, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    stored = ListeningAnswer.objects.get(child=cast.child)
    assert stored.response_ms == 2100 and stored.answered_by == cast.guardian
    assert stored.answered_at == when


def test_without_consent_the_api_says_why_and_stores_nothing(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child, "happy-or-sad")
    clip = assignment.listening_set.clips.first()
    response = _api(cast.guardian).post(
        reverse("api-listening-answers", args=[assignment.pk]),
        {"client_id": str(uuid.uuid4()), "clip": str(clip.pk), "chosen": clip.emotion},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "consent_missing" and "consent" in response.json()["detail"]
    assert not ListeningAnswer.objects.exists()


def test_results_api_gives_accuracy_confusion_and_times(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    answer(assignment, "angry", "angry", response_ms=800)
    answer(assignment, "angry", "happy", response_ms=2400)
    answer(assignment, "calm", "calm", response_ms=1200)
    data = _api(cast.therapist).get(reverse("api-listening-results", args=[cast.child.pk])).json()
    assert data["answers"] == 3 and data["correct"] == 2
    assert data["per_emotion"] == [
        {"emotion": "calm", "answers": 1, "correct": 1},
        {"emotion": "angry", "answers": 2, "correct": 1},
    ]
    assert data["confusion"] == {
        "labels": ["calm", "happy", "angry"],
        "counts": [[1, 0, 0], [0, 0, 0], [0, 1, 1]],
    }
    assert data["response_times"]["median_ms"] == 1200
    assert data["response_times"]["median_wrong_ms"] == 2400


def test_assignments_api_lists_the_items_with_their_choices(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child, "noisy-room")
    data = (
        _api(cast.guardian)
        .get(reverse("api-listening-assignments"), {"child": str(cast.child.pk)})
        .json()
    )
    (row,) = data["results"]
    assert row["title"] == "In a noisy room (generated voice)" and row["choice_count"] == 3
    assert len(row["items"]) == 4 and all(item["generated"] for item in row["items"])
    item = row["items"][0]
    clip = assignment.listening_set.clips.get(pk=item["clip"])
    assert [c["emotion"] for c in item["choices"]] == item_choices(assignment, clip)


def test_schema_documents_the_listening_endpoints(cast: Cast) -> None:
    schema = _api(cast.therapist).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/listening/assignments/"]) == {"get"}
    assert set(paths["/api/v1/listening/assignments/{assignment_id}/answers/"]) == {"post"}
    assert set(paths["/api/v1/children/{child_id}/listening/"]) == {"get"}
    request = schema["components"]["schemas"]["AnswerRequest"]
    assert {"client_id", "clip", "chosen"} <= set(request["required"])


def test_family_practice_page_shows_todays_listening_beside_the_speaking_exercises(
    cast: Cast,
) -> None:
    make_listening_assignment(cast.child, "happy-or-sad")
    client = Client()
    client.force_login(cast.guardian)
    page = client.get(reverse("family_exercises", args=[cast.child.pk])).content.decode()
    assert "Listening today" in page and "Happy or sad? (generated voice)" in page
    play = client.get(reverse("listening_play", args=[make_listening_assignment(
        cast.child, "four-feelings").pk])).content.decode()  # fmt: skip
    assert "Generated voice (a computer, not a person)" in play
    assert play.count('class="li-choice emo-') == 8 * 4  # 8 clips x 4 choices


def test_therapist_page_shows_the_confusions_as_a_table_and_chart(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    answer(assignment, "sad", "calm")
    client = Client()
    client.force_login(cast.therapist)
    page = client.get(reverse("child_listening", args=[cast.child.pk])).content.decode()
    assert 'id="confusion-figure"' in page and '"type": "heatmap"' in page
    assert "0 of 1 answers right" in page


def test_child_page_shows_listening_beside_the_speaking_trends(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    answer(assignment, "sad", "calm", days_ago=8)
    answer(assignment, "sad", "sad")
    answer(assignment, "happy", "happy")
    client = Client()
    client.force_login(cast.therapist)
    page = client.get(reverse("child_detail", args=[cast.child.pk])).content.decode()
    section = page[page.index('id="listening-trends"') :]
    assert page.index('id="trends"') < page.index('id="listening-trends"')
    assert "2 of 3 answers right" in section
    assert "Most often mixed up: sad heard as calm (1)." in section
    # Two weeks as columns; sad: 0 of 1, then 1 of 1.
    sad_row = section[section.index('<th scope="row">Sad</th>') :].split("</tr>")[0]
    assert sad_row.count("of 1</td>") == 2 and "0 of 1" in sad_row and "1 of 2 (50 %)" in sad_row


def test_without_javascript_each_picture_posts_and_the_page_answers_kindly(cast: Cast) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child, "happy-or-sad")
    clip = assignment.listening_set.clips.filter(emotion="sad")[0]
    client = Client()
    client.force_login(cast.guardian)
    url = reverse("listening_play", args=[assignment.pk])
    token = str(uuid.uuid4())
    form = {"clip": str(clip.pk), "chosen": "happy", "client_id": token}
    page = client.post(url, form, follow=True).content.decode()
    assert "Good try! That voice sounded sad. Listen again." in page
    client.post(url, form)  # the same form sent twice (a double tap, a resend)
    assert ListeningAnswer.objects.filter(child=cast.child).count() == 1
    again = client.post(url, {**form, "client_id": "", "chosen": "sad"}, follow=True)
    assert "This answer has no valid id." in again.content.decode()
    assert ListeningAnswer.objects.filter(child=cast.child).count() == 1


def test_therapist_makes_a_set_from_chosen_clips_and_assigns_it(cast: Cast) -> None:
    from sessions.listening.models import Clip, ListeningAssignment, ListeningSet

    sad, calm = (
        Clip.objects.filter(clinic=cast.clinic, emotion=e, intensity="normal")[0]
        for e in ("sad", "calm")
    )
    client = Client()
    client.force_login(cast.therapist)
    empty = client.post(reverse("listening_set_create"), {"title": "Mine", "choice_count": "3"})
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    response = client.post(
        reverse("listening_set_create"),
        {"title": "Sad or calm", "choice_count": "3", "clips": [str(sad.pk), str(calm.pk)]},
    )
    assert response.status_code == 302
    made = ListeningSet.objects.get(clinic=cast.clinic, title="Sad or calm")
    assert made.choice_count == 3 and set(made.clips.all()) == {sad, calm}
    response = client.post(
        reverse("listening_assign", args=[cast.child.pk]),
        {"listening_set": str(made.pk), "weekdays": ["1", "3"],
         "starts_on": timezone.localdate().isoformat(), "ends_on": "", "note": "Tuesdays"},
    )  # fmt: skip
    assert response.status_code == 302
    assignment = ListeningAssignment.objects.get(child=cast.child, listening_set=made)
    assert assignment.weekday_list == [1, 3] and assignment.schedule_text == "Tue, Thu"
    # Two feelings in the set, three choices asked: the third comes from the other feelings.
    offered = item_choices(assignment, sad)
    assert len(offered) == 3 and {"sad", "calm"} <= set(offered)
