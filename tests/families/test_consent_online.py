"""Consent online: a guardian reviews, gives and withdraws consent with a typed-name signature
against the text version they saw; the clinic is told (audit, console, e-mail); withdrawing
recording consent erases the recordings only after a 24-hour undo window, which undo cancels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.models import AnalysisRun
from sessions.families import services
from sessions.families.consent import has_consent
from sessions.families.models import (
    ConsentChannel,
    ConsentRecord,
    ErasureStatus,
    ScheduledErasure,
)
from sessions.families.tasks import run_due_erasures
from sessions.models import AuditEvent, Recording
from tests.conftest import Cast
from tests.families.helpers import analyse, consent, practice_attempt, publish_texts

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _withdraw(client: Client, cast: Cast, purpose: str, name: str = "Carol Example") -> Any:
    return client.post(
        reverse("family_consent_withdraw", kwargs={"child_id": cast.child.pk, "purpose": purpose}),
        {"signature": name, "agree": "on"},
    )


@pytest.fixture
def recorded(cast: Cast) -> Recording:
    consent(cast.child)
    analyse(cast.recording, {"happy": 0.5, "neutral": 0.5})
    practice_attempt(cast.child)
    return cast.recording


# --- reviewing and giving ---------------------------------------------------------------------


def test_guardian_sees_the_text_version_they_agreed_to(cast: Cast) -> None:
    publish_texts(cast.clinic)
    services.consent_grant(child=cast.child, purpose="sharing", given_by="Carol", actor=None)
    services.consent_text_publish(
        clinic=cast.clinic, purpose="sharing", body="New wording, version two.", actor=cast.admin
    )
    response = _client(cast.guardian).get(
        reverse("family_consent", kwargs={"child_id": cast.child.pk})
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The text you agreed to (version 1)" in page
    assert "I agree to sharing reports with the family." in page
    assert "New wording, version two." not in page  # the newer text is not what they signed


def test_giving_consent_online_records_signature_version_and_tells_the_clinic(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    publish_texts(cast.clinic)
    client = _client(cast.guardian)
    url = reverse("family_consent_give", kwargs={"child_id": cast.child.pk, "purpose": "sharing"})
    assert "Please read (version 1)" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"signature": "  Carol   Example ", "agree": "on", "text_version": "1"}
        )
    assert response.status_code == 302
    record = ConsentRecord.objects.get(child=cast.child, purpose="sharing", revoked_at=None)
    assert record.channel == ConsentChannel.ONLINE
    assert record.signature == "Carol Example"
    assert record.given_by == "Carol Example"
    assert record.text.version == 1
    assert record.recorded_by == cast.guardian
    event = AuditEvent.objects.get(object_type="consentrecord", object_id=str(record.pk))
    assert event.actor == cast.guardian and event.action == "create"
    assert event.detail["channel"] == "online" and event.detail["text_version"] == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [cast.admin.email]
    assert cast.child.code in mail.outbox[0].body
    assert cast.child.given_name not in mail.outbox[0].body  # codes only in mail
    console = _client(cast.admin).get(reverse("console_consent")).content.decode()
    assert "sharing reports with the family given online" in console


def test_a_newer_text_published_while_reading_is_not_signed_unseen(cast: Cast) -> None:
    publish_texts(cast.clinic)
    services.consent_text_publish(
        clinic=cast.clinic, purpose="analysis", body="Version two.", actor=cast.admin
    )
    response = _client(cast.guardian).post(
        reverse("family_consent_give", kwargs={"child_id": cast.child.pk, "purpose": "analysis"}),
        {"signature": "Carol Example", "agree": "on", "text_version": "1"},
    )
    assert response.status_code == 200
    assert "updated the wording" in response.content.decode()
    assert not has_consent(cast.child, "analysis")


def test_an_empty_signature_keeps_the_form_with_a_message(cast: Cast) -> None:
    publish_texts(cast.clinic)
    response = _client(cast.guardian).post(
        reverse("family_consent_give", kwargs={"child_id": cast.child.pk, "purpose": "analysis"}),
        {"signature": " ", "agree": "on", "text_version": "1"},
    )
    assert response.status_code == 200
    assert "Type your full name to sign." in response.content.decode()
    assert not has_consent(cast.child, "analysis")


def test_purposes_the_clinic_keeps_in_person_cannot_be_changed_online(cast: Cast) -> None:
    consent(cast.child)
    services.clinic_set_online_purposes(clinic=cast.clinic, purposes=["sharing"], actor=cast.admin)
    response = _withdraw(_client(cast.guardian), cast, "training")
    assert response.status_code == 200
    assert "contact the clinic" in response.content.decode()
    assert has_consent(cast.child, "training")
    with pytest.raises(services.OnlineConsentRefused):
        services.consent_withdraw_online(
            child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol"
        )
    assert has_consent(cast.child, "recording")


def test_the_console_sets_which_purposes_are_online(cast: Cast) -> None:
    response = _client(cast.admin).post(
        reverse("console_consent"), {"online_purposes": "1", "purposes": ["sharing", "training"]}
    )
    assert response.status_code == 302
    from sessions.families.selectors import online_consent_purposes

    assert online_consent_purposes(clinic=cast.clinic) == ["sharing", "training"]
    assert AuditEvent.objects.filter(object_type="onlineconsentpolicy").count() == 1


def test_staff_cannot_sign_for_the_guardian(cast: Cast) -> None:
    publish_texts(cast.clinic)
    for user in (cast.therapist, cast.admin):
        response = _client(user).post(
            reverse(
                "family_consent_give", kwargs={"child_id": cast.child.pk, "purpose": "sharing"}
            ),
            {"signature": "Someone", "agree": "on", "text_version": "1"},
        )
        assert response.status_code == 403
    assert not has_consent(cast.child, "sharing")


# --- withdrawing ------------------------------------------------------------------------------


def test_withdrawing_sharing_online_stops_it_at_once(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    consent(cast.child)
    with django_capture_on_commit_callbacks(execute=True):
        response = _withdraw(_client(cast.guardian), cast, "sharing")
    assert response.status_code == 302
    assert not has_consent(cast.child, "sharing")
    record = ConsentRecord.objects.get(child=cast.child, purpose="sharing")
    assert record.revoked_channel == ConsentChannel.ONLINE
    assert record.revocation_signature == "Carol Example"
    assert record.revoked_by == cast.guardian
    assert "withdrew consent to sharing reports" in mail.outbox[0].body
    assert not ScheduledErasure.objects.exists()


def test_withdrawal_page_states_the_24_hour_window_before_anything_happens(
    cast: Cast, recorded: Recording
) -> None:
    response = _client(cast.guardian).get(
        reverse(
            "family_consent_withdraw", kwargs={"child_id": cast.child.pk, "purpose": "recording"}
        )
    )
    page = response.content.decode()
    assert "You have 24 hours to undo this." in page
    assert "1 recording" in page
    assert has_consent(cast.child, "recording")  # the confirmation page changes nothing
    assert Recording.objects.filter(pk=recorded.pk).exists()


def test_withdrawing_recording_online_keeps_everything_for_24_hours_then_erases(
    cast: Cast, recorded: Recording, django_capture_on_commit_callbacks: Any
) -> None:
    audio = Path(settings.MEDIA_ROOT) / str(recorded.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        response = _withdraw(_client(cast.guardian), cast, "recording")
    assert response.status_code == 302
    erasure = ScheduledErasure.objects.get(child=cast.child)
    assert erasure.status == ErasureStatus.PENDING
    assert erasure.signature == "Carol Example"
    delay = erasure.due_at - erasure.created_at
    assert dt.timedelta(hours=23, minutes=59) < delay <= dt.timedelta(hours=24)
    # Recording stops at once; nothing is deleted yet.
    assert not has_consent(cast.child, "recording")
    assert Recording.objects.filter(pk=recorded.pk).exists() and audio.exists()
    page = _client(cast.guardian).get(reverse("family_consent", kwargs={"child_id": cast.child.pk}))
    assert "Undo: keep the recordings" in page.content.decode()
    assert "deleted after" in mail.outbox[0].body

    # Before the window has passed, the periodic task leaves it alone.
    assert services.erasures_run_due(now=erasure.due_at - dt.timedelta(minutes=1)) == []
    assert Recording.objects.filter(pk=recorded.pk).exists()

    # After it, the same erasure as an admin's revocation runs.
    with django_capture_on_commit_callbacks(execute=True):
        results = services.erasures_run_due(now=erasure.due_at + dt.timedelta(minutes=1))
    assert [r["status"] for r in results] == ["done"]
    assert not Recording.objects.filter(session__child=cast.child).exists()
    assert not AnalysisRun.objects.filter(recording__session__child=cast.child).exists()
    assert not audio.exists()
    from sessions.exercises.models import Attempt

    assert not Attempt.objects.filter(child=cast.child).exists()
    erasure.refresh_from_db()
    assert erasure.status == ErasureStatus.DONE and erasure.counts["recordings"] == 1
    deleted = AuditEvent.objects.get(object_type="recording_data", child_id=cast.child.pk)
    assert deleted.detail["reason"] == "recording_consent_withdrawn_online"
    # A second run finds nothing.
    assert services.erasures_run_due(now=erasure.due_at + dt.timedelta(hours=1)) == []


def test_the_periodic_task_runs_due_erasures(cast: Cast, recorded: Recording) -> None:
    result = services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example",
        now=timezone.now() - dt.timedelta(hours=25),
    )  # fmt: skip
    assert result.erasure is not None
    outcome = run_due_erasures.apply().get()
    assert len(outcome) == 1
    assert outcome[0]["erasure"] == str(result.erasure.pk)
    assert outcome[0]["status"] == "done"
    assert (outcome[0]["recordings"], outcome[0]["analysis_runs"]) == (1, 1)
    assert outcome[0]["exercise_attempts"] == 1
    assert not Recording.objects.filter(session__child=cast.child).exists()


def test_undo_within_the_window_keeps_the_recordings_and_the_consent(
    cast: Cast, recorded: Recording, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(cast.guardian)
    _withdraw(client, cast, "recording")
    erasure = ScheduledErasure.objects.get(child=cast.child)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("family_erasure_undo", kwargs={"erasure_id": erasure.pk}))
    assert response.status_code == 302
    erasure.refresh_from_db()
    assert erasure.status == ErasureStatus.CANCELLED and erasure.cancelled_by == cast.guardian
    # The same consent record (same text version, same signature) is in force again.
    live = ConsentRecord.objects.get(child=cast.child, purpose="recording", revoked_at=None)
    assert live.pk == erasure.consent_id
    assert services.erasures_run_due(now=erasure.due_at + dt.timedelta(hours=1)) == []
    assert Recording.objects.filter(pk=recorded.pk).exists()
    assert any("undid" in m.body for m in mail.outbox)


def test_undo_after_the_window_is_refused_with_a_message(cast: Cast, recorded: Recording) -> None:
    result = services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example",
        now=timezone.now() - dt.timedelta(hours=25),
    )  # fmt: skip
    assert result.erasure is not None
    response = _client(cast.guardian).post(
        reverse("family_erasure_undo", kwargs={"erasure_id": result.erasure.pk}), follow=True
    )
    assert response.status_code == 200
    assert "The 24 hours to undo this have passed" in response.content.decode()
    assert not has_consent(cast.child, "recording")


def test_consent_given_again_before_the_erasure_is_due_supersedes_it(
    cast: Cast, recorded: Recording
) -> None:
    result = services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example"
    )
    assert result.erasure is not None
    # The clinic records a new paper consent while the erasure waits.
    services.consent_grant(child=cast.child, purpose="recording", given_by="Carol", actor=None)
    results = services.erasures_run_due(now=result.erasure.due_at + dt.timedelta(minutes=1))
    assert [r["status"] for r in results] == ["superseded"]
    assert Recording.objects.filter(pk=recorded.pk).exists()


def test_another_family_cannot_undo(cast: Cast, recorded: Recording) -> None:
    result = services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example"
    )
    assert result.erasure is not None
    url = reverse("family_erasure_undo", kwargs={"erasure_id": result.erasure.pk})
    assert _client(cast.other_guardian).post(url).status_code == 404
    assert _client(cast.therapist).post(url).status_code == 403
    result.erasure.refresh_from_db()
    assert result.erasure.status == ErasureStatus.PENDING


def test_the_family_page_points_to_the_undo_while_an_erasure_waits(
    cast: Cast, recorded: Recording
) -> None:
    services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example"
    )
    page = _client(cast.guardian).get(reverse("family_child", kwargs={"child_id": cast.child.pk}))
    text = page.content.decode()
    assert "will be deleted on" in text
    assert reverse("family_consent", kwargs={"child_id": cast.child.pk}) in text


def test_giving_and_withdrawing_ask_for_the_same_signature(cast: Cast) -> None:
    publish_texts(cast.clinic)
    consent(cast.child, "training")
    client = _client(cast.guardian)
    pages = [
        client.get(
            reverse(name, kwargs={"child_id": cast.child.pk, "purpose": purpose})
        ).content.decode()
        for name, purpose in (
            ("family_consent_give", "sharing"),
            ("family_consent_withdraw", "training"),
        )
    ]
    for page in pages:
        assert '<label for="id_signature">' in page
        assert (
            'id="id_signature_helptext"' in page
            and 'aria-describedby="id_signature_helptext"' in page
        )
        assert '<label for="id_agree">' in page and 'name="agree"' in page
    assert 'name="text_version"' in pages[0]  # giving signs one version of the text
