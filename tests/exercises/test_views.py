"""Practice pages and API: what each person sees, friendly errors, audit, no data leaks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.exercises import attempts, clips, services
from sessions.exercises.models import Assignment, Attempt, AttemptStatus
from sessions.models import AuditEvent
from tests.analysis.audio_factory import write_bad_file, write_long_wav, write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import done_attempt, make_assignment, make_attempt, make_exercise


@pytest.fixture
def assignment(cast: Cast) -> Assignment:
    return make_assignment(cast.child, make_exercise(cast.clinic))


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- family pages -------------------------------------------------------------------------------


def test_family_page_shows_todays_exercises_with_stars_and_streak(
    cast: Cast, assignment: Assignment
) -> None:
    done_attempt(assignment, stars=2)
    response = login(cast.guardian).get(reverse("family_exercises", args=[cast.child.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hi Mia!" in html
    assert "Hi! I&#x27;m so happy to see you!" in html
    assert "1 of 1</strong> done today" in html
    assert 'aria-label="2 out of 3 stars"' in html
    assert "practice day in a row" in html
    assert "Preview" not in html
    assert AuditEvent.objects.filter(
        actor=cast.guardian, action="view", child_id=cast.child.pk
    ).exists()


def test_family_page_without_exercises_says_so_kindly(cast: Cast) -> None:
    html = login(cast.guardian).get(reverse("family_exercises", args=[cast.child.pk])).content
    assert b"No practice exercises yet. Your therapist will add some soon!" in html


def test_exercises_not_due_today_are_listed_apart(cast: Cast) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).weekday()
    make_assignment(cast.child, make_exercise(cast.clinic, title="Calm no"), weekdays=1 << tomorrow)
    html = login(cast.guardian).get(reverse("family_exercises", args=[cast.child.pk])).content
    assert b"Nothing to practise today" in html and b"More exercises" in html
    assert b"Calm no" in html


def test_staff_see_the_family_page_as_a_preview(cast: Cast, assignment: Assignment) -> None:
    html = login(cast.admin).get(reverse("family_exercises", args=[cast.child.pk])).content
    assert b"Preview:" in html


def test_practice_page_offers_the_recorder_only_with_consent(
    cast: Cast, assignment: Assignment
) -> None:
    url = reverse("exercise_practice", args=[assignment.pk])
    html = login(cast.guardian).get(url).content.decode()
    assert "Recording is switched off" in html and 'id="rec-button"' not in html
    grant_consent(cast.child)
    html = login(cast.guardian).get(url).content.decode()
    assert 'id="rec-button"' in html and "Start recording" in html
    assert 'id="fallback"' in html, "the no-JavaScript upload stays available"
    assert reverse("api-exercise-attempts", args=[assignment.pk]) in html


def test_admins_preview_the_practice_page_without_a_recorder(
    cast: Cast, assignment: Assignment
) -> None:
    grant_consent(cast.child)
    html = login(cast.admin).get(reverse("exercise_practice", args=[assignment.pk])).content
    assert b'id="rec-button"' not in html and b"Only Mia's family" in html


def test_another_family_cannot_open_or_post_to_an_exercise_by_forged_id(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    client = login(cast.other_guardian)
    assert client.get(reverse("exercise_practice", args=[assignment.pk])).status_code == 404
    wav = write_speechlike_wav(tmp_path / "a.wav", seconds=1.0)
    with wav.open("rb") as handle:
        response = client.post(reverse("attempt_upload", args=[assignment.pk]), {"file": handle})
    assert response.status_code == 404
    assert client.get("/family/practice/not-a-uuid/").status_code == 404
    assert not Attempt.objects.exists()


def test_progress_page_has_a_chart_and_a_table_saying_the_same(
    cast: Cast, assignment: Assignment
) -> None:
    done_attempt(assignment, stars=3)
    done_attempt(assignment, stars=1)
    html = login(cast.guardian).get(reverse("family_progress", args=[cast.child.pk])).content
    text = html.decode()
    assert 'id="progress-figure"' in text and "plotly-cartesian.min.js" in text
    assert text.count('aria-label="3 out of 3 stars"') >= 1
    assert "2</strong> tries so far" in text


def test_progress_page_empty_state(cast: Cast) -> None:
    html = login(cast.guardian).get(reverse("family_progress", args=[cast.child.pk])).content
    assert b"No tries yet" in html and b"plotly-cartesian.min.js" not in html


# --- uploading ----------------------------------------------------------------------------------


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _post(client: APIClient, assignment: Assignment, path: Path, **extra: Any) -> Any:
    with path.open("rb") as handle:
        return client.post(
            reverse("api-exercise-attempts", args=[assignment.pk]),
            {"file": handle, **extra},
            format="multipart",
        )


def test_api_upload_stores_the_attempt_and_answers_with_a_status_url(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    response = _post(
        _api(cast.guardian),
        assignment,
        write_speechlike_wav(tmp_path / "a.wav", seconds=2.0),
        client_token="0b6bd8f4-1f0b-4a86-9a5b-5a9f8b0a4c3e",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and not body["final"]
    assert body["status_url"] == reverse("api-exercise-attempt-detail", args=[body["id"]])
    again = _post(
        _api(cast.guardian),
        assignment,
        write_speechlike_wav(tmp_path / "b.wav"),
        client_token="0b6bd8f4-1f0b-4a86-9a5b-5a9f8b0a4c3e",
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Attempt.objects.count() == 1


def test_api_upload_refuses_a_twenty_minute_attempt_in_plain_words(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    response = _post(
        _api(cast.guardian), assignment, write_long_wav(tmp_path / "long.wav", hours=20 / 60)
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"too_long", "too_large"}
    assert "up to a minute" in response.json()["detail"]


def test_api_upload_without_consent_says_what_is_missing(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    response = _post(
        _api(cast.guardian), assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=1.0)
    )
    assert response.status_code == 403
    assert response.json() == {"detail": attempts.CONSENT_MESSAGE, "code": "consent_missing"}


def test_api_upload_of_a_corrupt_file_is_a_friendly_400(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    response = _post(
        _api(cast.guardian), assignment, write_bad_file("random_bytes", tmp_path / "x.webm")
    )
    assert response.status_code == 400
    assert response.json()["detail"] in clips.FRIENDLY_AUDIO_ERRORS.values()


def test_plain_form_upload_goes_to_the_result_page_which_refreshes_itself(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    client = login(cast.guardian)
    with write_speechlike_wav(tmp_path / "a.wav", seconds=2.0).open("rb") as handle:
        response = client.post(reverse("attempt_upload", args=[assignment.pk]), {"file": handle})
    attempt = Attempt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("attempt_result", args=[attempt.pk])
    html = client.get(response["Location"]).content.decode()
    assert "Listening to your voice" in html and 'http-equiv="refresh"' in html


def test_plain_form_upload_of_a_bad_file_shows_the_reason(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    client = login(cast.guardian)
    with write_bad_file("html_as_wav", tmp_path / "x.wav").open("rb") as handle:
        response = client.post(
            reverse("attempt_upload", args=[assignment.pk]), {"file": handle}, follow=True
        )
    assert response.redirect_chain[-1][0] == reverse("exercise_practice", args=[assignment.pk])
    assert b"isn&#x27;t a sound recording" in response.content
    assert not Attempt.objects.exists()


def test_feedback_fragment_shows_stars_details_and_the_therapists_note(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = done_attempt(
        assignment,
        stars=1,
        comparisons=[
            {
                "measure": "pitch_range",
                "label": "Pitch range",
                "unit": "semitones",
                "value": 2.0,
                "typical_low": 5.0,
                "typical_high": 12.0,
                "typical": "below",
                "example_value": None,
                "example": None,
                "text": "Flatter than a typical happy voice.",
            }
        ],
        tips=["Let your voice go up and down, like a little roller coaster!"],
    )
    services.attempt_review(
        attempt=attempt,
        reviewer=cast.therapist,
        stars=2,
        conveyed=True,
        encouragement="Super smile in your voice!",
    )
    url = reverse("attempt_result", args=[attempt.pk]) + "?fragment=1"
    html = login(cast.guardian).get(url).content.decode()
    assert "<html" not in html, "just the panel"
    assert "2 out of 3 stars" in html
    assert "Super smile in your voice!" in html
    assert "changed the stars from 1 to 2" in html
    assert "Flatter than a typical happy voice." in html
    assert "roller coaster" in html


def test_polling_the_api_audits_once_the_feedback_is_there(
    cast: Cast, assignment: Assignment
) -> None:
    waiting = make_attempt(assignment)
    client = _api(cast.guardian)
    for _ in range(3):
        body = client.get(reverse("api-exercise-attempt-detail", args=[waiting.pk])).json()
        assert body["status"] == "queued"
    assert not AuditEvent.objects.filter(object_id=str(waiting.pk), action="view").exists()
    Attempt.objects.filter(pk=waiting.pk).update(status=AttemptStatus.DONE, stars=2)
    client.get(reverse("api-exercise-attempt-detail", args=[waiting.pk]))
    assert AuditEvent.objects.filter(object_id=str(waiting.pk), action="view").count() == 1


def test_attempt_audio_streams_with_ranges_and_is_audited(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = make_attempt(assignment)
    client = login(cast.guardian)
    url = reverse("attempt_audio", args=[attempt.pk])
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Cache-Control"] == "private, no-store"
    part = client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part["Content-Range"].startswith("bytes 10-19/")
    assert AuditEvent.objects.filter(object_id=str(attempt.pk), action="download").count() == 1


@pytest.mark.parametrize("header", ["bytes=-999999999", "bytes= 0-", "bytes=1-", "bytes=5-9"])
def test_attempt_audio_is_audited_whatever_range_starts_the_listen(
    cast: Cast, assignment: Assignment, header: str
) -> None:
    attempt = make_attempt(assignment)
    client = login(cast.guardian)
    url = reverse("attempt_audio", args=[attempt.pk])
    assert client.get(url, HTTP_RANGE=header).status_code == 206
    assert client.get(url, HTTP_RANGE="bytes=2-3").status_code == 206
    downloads = AuditEvent.objects.filter(object_id=str(attempt.pk), action="download")
    assert list(downloads.values_list("actor", "object_type")) == [(cast.guardian.pk, "attempt")]


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=-", "bytes=999999-"])
def test_attempt_audio_refuses_bad_ranges_with_416(
    cast: Cast, assignment: Assignment, header: str
) -> None:
    attempt = make_attempt(assignment)
    response = login(cast.guardian).get(
        reverse("attempt_audio", args=[attempt.pk]), HTTP_RANGE=header
    )
    assert response.status_code == 416 and response.content == b""
    assert not AuditEvent.objects.filter(object_id=str(attempt.pk), action="download").exists()


def test_audio_deleted_by_retention_is_gone_but_results_stay(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = done_attempt(assignment, stars=3)
    Attempt.objects.filter(pk=attempt.pk).update(audio="", audio_deleted_at=timezone.now())
    client = login(cast.guardian)
    assert client.get(reverse("attempt_audio", args=[attempt.pk])).status_code == 404
    html = client.get(reverse("attempt_result", args=[attempt.pk])).content
    assert b"3 out of 3 stars" in html and b"<audio" not in html


# --- therapist pages ----------------------------------------------------------------------------


def test_therapist_assigns_an_exercise_with_a_schedule(cast: Cast) -> None:
    exercise = make_exercise(cast.clinic, title="Calm no")
    client = login(cast.therapist)
    response = client.post(
        reverse("exercise_assign", args=[cast.child.pk]),
        {
            "exercise": str(exercise.pk),
            "weekdays": ["0", "2", "4"],
            "starts_on": timezone.localdate().isoformat(),
            "ends_on": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
            "note": "Go!",
        },
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get(child=cast.child)
    assert assignment.weekday_list == [0, 2, 4] and assignment.note == "Go!"
    html = client.get(reverse("child_exercises", args=[cast.child.pk])).content.decode()
    assert "Calm no" in html and "Mon, Wed, Fri until" in html


def test_assign_form_rejects_an_end_before_the_start(cast: Cast) -> None:
    exercise = make_exercise(cast.clinic)
    response = login(cast.therapist).post(
        reverse("exercise_assign", args=[cast.child.pk]),
        {
            "exercise": str(exercise.pk),
            "weekdays": ["0"],
            "starts_on": "2026-05-10",
            "ends_on": "2026-05-01",
        },
    )
    assert response.status_code == 200
    assert b"The end date must be on or after the start date." in response.content


def test_assign_form_does_not_offer_another_clinics_exercises(cast: Cast) -> None:
    foreign = make_exercise(cast.other_clinic, title="Far away exercise")
    client = login(cast.therapist)
    assert (
        b"Far away exercise"
        not in client.get(reverse("exercise_assign", args=[cast.child.pk])).content
    )
    response = client.post(
        reverse("exercise_assign", args=[cast.child.pk]),
        {"exercise": str(foreign.pk), "weekdays": ["0"], "starts_on": "2026-05-10"},
    )
    assert response.status_code == 200 and not Assignment.objects.exists()


def test_review_page_saves_an_override_the_family_then_sees(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = done_attempt(assignment, stars=1)
    client = login(cast.therapist)
    page = client.get(reverse("attempt_review", args=[attempt.pk])).content.decode()
    assert "Keep the model&#x27;s verdict" in page and "Model verdict: 1 star" in page
    response = client.post(
        reverse("attempt_review", args=[attempt.pk]),
        {"stars": "3", "conveyed": "yes", "encouragement": "Brilliant!"},
    )
    assert response.status_code == 302
    family = login(cast.guardian).get(reverse("family_progress", args=[cast.child.pk])).content
    assert b"Brilliant!" in family and b'aria-label="3 out of 3 stars"' in family


def test_ending_an_assignment_keeps_its_history(cast: Cast, assignment: Assignment) -> None:
    done_attempt(assignment)
    response = login(cast.therapist).post(reverse("assignment_end", args=[assignment.pk]))
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.ended_at is not None and assignment.attempts.count() == 1
    html = login(cast.guardian).get(reverse("family_exercises", args=[cast.child.pk])).content
    assert b"Happy hello" not in html


def test_therapist_creates_an_exercise_and_a_bad_model_recording_is_explained(
    cast: Cast, tmp_path: Path
) -> None:
    client = login(cast.therapist)
    data = {"title": "Wow", "phrase": "Wow!", "target_emotion": "surprised", "difficulty": "1"}
    with write_bad_file("html_as_wav", tmp_path / "m.wav").open("rb") as handle:
        response = client.post(reverse("exercise_create"), {**data, "model_audio": handle})
    assert response.status_code == 200
    assert b"isn&#x27;t a sound recording" in response.content
    with write_speechlike_wav(tmp_path / "m.wav", seconds=2.0).open("rb") as handle:
        response = client.post(reverse("exercise_create"), {**data, "model_audio": handle})
    assert response.status_code == 302
    listing = client.get(reverse("exercise_list")).content.decode()
    assert "Wow" in listing and "Happy hello" in listing  # the library came with the clinic


def test_admins_read_the_library_but_cannot_edit(cast: Cast) -> None:
    client = login(cast.admin)
    html = client.get(reverse("exercise_list")).content
    assert b"New exercise" not in html and b"Edit" not in html


def test_after_an_upgrade_the_sentence_and_tips_match_the_therapists_stars(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = done_attempt(
        assignment,
        stars=1,
        message="Good try! Listen to the example.",
        tips=["Try saying it a little bit faster."],
    )
    services.attempt_review(attempt=attempt, reviewer=cast.therapist, stars=3, conveyed=True)
    html = login(cast.guardian).get(reverse("attempt_result", args=[attempt.pk])).content
    assert b"Good try!" not in html and b"Try this next time" not in html
    progress = login(cast.guardian).get(reverse("family_progress", args=[cast.child.pk])).content
    assert b"Good try!" not in progress
