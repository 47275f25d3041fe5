"""Audio streams only through the access-checking view, with HTTP range requests for seeking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions.models import AuditEvent
from sessions.models.audit import AuditAction
from tests.conftest import Cast
from tests.factories import TherapySessionFactory, recording_for

pytestmark = pytest.mark.django_db

AUDIO = bytes(range(256)) * 40  # 10 240 bytes with a recognisable pattern


@pytest.fixture
def recording(cast: Cast) -> Any:
    return recording_for(cast.session, content=AUDIO, name="session.wav")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _url(recording: Any) -> str:
    return reverse("recording_audio", args=[recording.pk])


def test_whole_file_for_the_therapist(cast: Cast, recording: Any) -> None:
    response = _client(cast.therapist).get(_url(recording))
    assert response.status_code == 200
    assert _body(response) == AUDIO
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(AUDIO))
    assert response["Cache-Control"] == "private, no-store"


def test_clinic_admin_may_listen(cast: Cast, recording: Any) -> None:
    assert _body(_client(cast.admin).get(_url(recording))) == AUDIO


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=10000-", 10000, len(AUDIO) - 1),
        ("bytes=-240", len(AUDIO) - 240, len(AUDIO) - 1),
        ("bytes=10200-99999", 10200, len(AUDIO) - 1),  # end past the file is clamped
    ],
)
def test_range_requests_return_exactly_the_bytes_asked_for(
    cast: Cast, recording: Any, header: str, start: int, end: int
) -> None:
    response = _client(cast.therapist).get(_url(recording), HTTP_RANGE=header)
    assert response.status_code == 206
    assert _body(response) == AUDIO[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Cache-Control"] == "private, no-store"


UNSERVABLE = [
    "bytes=20000-",
    "bytes=500-100",
    "bytes=abc",
    "bytes=-",
    "bytes=-0",
    "bytes=5-x",
    "bytes=0-1,x",
    "bytes=" + "9" * 5000 + "-",
]


@pytest.mark.parametrize("header", UNSERVABLE)
def test_malformed_or_unsatisfiable_range_is_416_and_sends_nothing(
    cast: Cast, recording: Any, header: str
) -> None:
    response = _client(cast.therapist).get(_url(recording), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"
    assert response.content == b""
    assert not AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5"])
def test_several_ranges_or_another_unit_get_the_whole_file(
    cast: Cast, recording: Any, header: str
) -> None:
    response = _client(cast.therapist).get(_url(recording), HTTP_RANGE=header)
    assert response.status_code == 200
    assert _body(response) == AUDIO


@pytest.mark.parametrize(
    ("header", "status", "size"),
    [
        ("", 200, len(AUDIO)),
        ("bytes=-999999999", 206, len(AUDIO)),
        ("bytes= 0-", 206, len(AUDIO)),
        ("bytes=1-", 206, len(AUDIO) - 1),
        ("bytes=5000-5099", 206, 100),
        ("bytes=0-1,5-6", 200, len(AUDIO)),
        ("items=0-5", 200, len(AUDIO)),
    ],
)
def test_every_response_with_audio_is_audited_whatever_its_range(
    cast: Cast, recording: Any, header: str, status: int, size: int
) -> None:
    client = _client(cast.therapist)
    response = (
        client.get(_url(recording), HTTP_RANGE=header) if header else client.get(_url(recording))
    )
    assert response.status_code == status
    assert len(_body(response)) == size
    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert (event.actor, event.object_type, event.object_id, event.child_id) == (
        cast.therapist,
        "recording",
        str(recording.pk),
        cast.child.pk,
    )


def test_one_entry_per_person_and_recording_per_window(cast: Cast, recording: Any) -> None:
    therapist, admin = _client(cast.therapist), _client(cast.admin)
    for header in ("bytes=1-", "bytes=-999999999", "bytes=100-199", "bytes=4000-"):
        assert therapist.get(_url(recording), HTTP_RANGE=header).status_code == 206
    assert admin.get(_url(recording), HTTP_RANGE="bytes=1-").status_code == 206
    downloads = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD)
    assert sorted(downloads.values_list("actor__email", flat=True)) == sorted(
        [cast.therapist.email, cast.admin.email]
    )
    # After the window a new listen is a new entry, however it starts.
    window = dt.timedelta(seconds=settings.SER_AUDIO_AUDIT_WINDOW_S + 1)
    downloads.update(created_at=timezone.now() - window)
    assert therapist.get(_url(recording), HTTP_RANGE="bytes=7000-").status_code == 206
    assert downloads.filter(actor=cast.therapist).count() == 2


def test_window_zero_audits_every_response(cast: Cast, recording: Any, settings: Any) -> None:
    settings.SER_AUDIO_AUDIT_WINDOW_S = 0
    client = _client(cast.therapist)
    for header in ("bytes=0-9", "bytes=10-19", "bytes=-5"):
        client.get(_url(recording), HTTP_RANGE=header)
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).count() == 3


@pytest.mark.parametrize(
    "persona", ["guardian", "other_guardian", "other_therapist", "other_admin"]
)
def test_people_without_access_get_404_not_audio(cast: Cast, recording: Any, persona: str) -> None:
    response = _client(cast.user(persona)).get(_url(recording), HTTP_RANGE="bytes=0-99")
    assert response.status_code == 404
    assert AUDIO[:100] not in response.content


def test_anonymous_visitors_are_sent_to_log_in(recording: Any) -> None:
    response = Client().get(_url(recording))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_only_get(cast: Cast, recording: Any) -> None:
    assert _client(cast.therapist).post(_url(recording)).status_code == 405


def test_deleted_audio_is_404(cast: Cast, recording: Any) -> None:
    recording.audio_deleted_at = timezone.now()
    recording.save()
    assert _client(cast.therapist).get(_url(recording)).status_code == 404


def test_media_files_are_not_served_at_any_public_url(cast: Cast, recording: Any) -> None:
    assert str(recording.file.name).startswith("recordings/")
    assert (settings.MEDIA_ROOT / recording.file.name).read_bytes() == AUDIO
    client = _client(cast.therapist)
    for url in (
        f"/media/{recording.file.name}",
        f"/static/{recording.file.name}",
        f"/{recording.file.name}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert AUDIO[:64] not in response.content


def test_stored_file_name_reveals_no_personal_data(cast: Cast) -> None:
    named = recording_for(
        TherapySessionFactory.create(child=cast.child, therapist=cast.therapist),
        content=AUDIO,
        name=f"{cast.child.given_name} at home.MP3",
    )
    stored = str(named.file.name)
    assert cast.child.given_name not in stored
    assert stored.endswith(f"{named.pk}.mp3")
