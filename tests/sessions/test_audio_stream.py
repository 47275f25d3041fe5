"""Audio streams only through the access-checking view, with HTTP range requests for seeking."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

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


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=500-100"])
def test_unsatisfiable_range_is_416(cast: Cast, recording: Any, header: str) -> None:
    response = _client(cast.therapist).get(_url(recording), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=-"])
def test_ranges_we_do_not_serve_fall_back_to_the_whole_file(
    cast: Cast, recording: Any, header: str
) -> None:
    response = _client(cast.therapist).get(_url(recording), HTTP_RANGE=header)
    assert response.status_code == 200
    assert _body(response) == AUDIO


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
