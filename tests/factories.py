"""factory_boy factories for the therapy domain."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.urls import reverse

from sessions.models import Child, Clinic, Membership, Recording, Role, TherapySession, User

PASSWORD = "test-pass-1234"


class ClinicFactory(factory.django.DjangoModelFactory[Clinic]):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


def member(clinic: Clinic, role: str, **kwargs: object) -> User:
    user = UserFactory.create(**kwargs)
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


class ChildFactory(factory.django.DjangoModelFactory[Child]):
    class Meta:
        model = Child

    clinic = factory.SubFactory(ClinicFactory)
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = dt.date(2017, 5, 1)


class TherapySessionFactory(factory.django.DjangoModelFactory[TherapySession]):
    class Meta:
        model = TherapySession

    child = factory.SubFactory(ChildFactory)
    therapist = factory.SubFactory(UserFactory)
    date = dt.date(2026, 10, 1)
    kind = "individual"
    notes = "Private therapist notes"


def recording_for(
    session: TherapySession, content: bytes = b"RIFF....WAVEfmt ", name: str = "clip.wav"
) -> Recording:
    recording = Recording(
        session=session,
        original_name=name,
        content_type="audio/wav",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    recording.file.save(name, ContentFile(content), save=False)
    recording.save()
    return recording


def post_recording(
    api: Any, session: TherapySession, path: Path, *, user: User | None = None
) -> Any:
    """Upload the file at ``path`` to ``session`` as API clients do (one multipart POST), as
    ``user`` when given (else as ``api`` is signed in); the response, for the test to check."""
    if user is not None:
        api.force_authenticate(user)
    with path.open("rb") as handle:
        return api.post(
            reverse("api-session-recordings", kwargs={"session_id": session.pk}),
            {"file": handle},
            format="multipart",
        )


__all__ = [
    "PASSWORD",
    "ChildFactory",
    "ClinicFactory",
    "Role",
    "TherapySessionFactory",
    "UserFactory",
    "member",
    "post_recording",
    "recording_for",
]
