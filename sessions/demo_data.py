"""The seeded demo clinic (demo mode only). Idempotent: running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from sessions.models import Child, Clinic, Membership, Role, SessionKind, TherapySession, User

DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105 - documented demo credential, demo mode only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    note: str


DEMO_LOGINS = [
    DemoLogin("admin@demo.clinic", Role.CLINIC_ADMIN, "clinic admin, Demo Clinic"),
    DemoLogin("therapist@demo.clinic", Role.THERAPIST, "therapist of Alex and Bea"),
    DemoLogin("therapist2@demo.clinic", Role.THERAPIST, "therapist of Charlie"),
    DemoLogin("family@demo.clinic", Role.GUARDIAN, "guardian of Alex"),
    DemoLogin("family2@demo.clinic", Role.GUARDIAN, "guardian of Bea"),
    DemoLogin("admin@other.clinic", Role.CLINIC_ADMIN, "clinic admin, Other Clinic"),
]


def _user(email: str, full_name: str, clinic: Clinic, role: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": role})
    return user


def _child(clinic: Clinic, code: str, given: str, family: str, born: dt.date) -> Child:
    child, _ = Child.objects.get_or_create(
        code=code,
        defaults={
            "clinic": clinic,
            "given_name": given,
            "family_name": family,
            "date_of_birth": born,
        },
    )
    return child


@transaction.atomic
def seed_demo(*, today: dt.date | None = None) -> dict[str, object]:
    """Create the demo clinics, people, children and sessions if they are missing."""
    today = today or dt.date.today()
    demo, _ = Clinic.objects.get_or_create(slug="demo", defaults={"name": "Demo Clinic"})
    other, _ = Clinic.objects.get_or_create(slug="other", defaults={"name": "Other Clinic"})

    _user("admin@demo.clinic", "Dana Admin", demo, Role.CLINIC_ADMIN)
    therapist = _user("therapist@demo.clinic", "Terry Therapist", demo, Role.THERAPIST)
    therapist2 = _user("therapist2@demo.clinic", "Tove Therapist", demo, Role.THERAPIST)
    family = _user("family@demo.clinic", "Frankie Parent", demo, Role.GUARDIAN)
    family2 = _user("family2@demo.clinic", "Fran Parent", demo, Role.GUARDIAN)
    other_admin = _user("admin@other.clinic", "Olli Admin", other, Role.CLINIC_ADMIN)

    alex = _child(demo, "C-ALEX01", "Alex", "Example", dt.date(2017, 3, 14))
    bea = _child(demo, "C-BEA002", "Bea", "Sample", dt.date(2018, 9, 2))
    charlie = _child(demo, "C-CHAR03", "Charlie", "Demo", dt.date(2016, 1, 23))
    alex.therapists.add(therapist)
    bea.therapists.add(therapist)
    charlie.therapists.add(therapist2)
    alex.guardians.add(family)
    bea.guardians.add(family2)

    other_therapist = _user("therapist@other.clinic", "Oda Therapist", other, Role.THERAPIST)
    dana = _child(other, "C-OTHER1", "Dani", "Elsewhere", dt.date(2017, 6, 1))
    dana.therapists.add(other_therapist)

    for child, who in (
        (alex, therapist),
        (bea, therapist),
        (charlie, therapist2),
        (dana, other_therapist),
    ):
        for weeks_ago in (6, 4, 2):
            TherapySession.objects.get_or_create(
                child=child,
                date=today - dt.timedelta(weeks=weeks_ago),
                defaults={
                    "therapist": who,
                    "kind": SessionKind.GROUP if weeks_ago == 4 else SessionKind.INDIVIDUAL,
                    "title": "Greetings and turn-taking"
                    if weeks_ago == 6
                    else "Conversation practice",
                    "notes": "Demo notes: engaged well, practised greetings.",
                },
            )
    _seed_consent(demo, [alex, bea, charlie])
    _seed_consent(other, [dana])
    _seed_exercises(therapist, [alex, bea])
    _seed_recordings([(alex, therapist), (bea, therapist), (charlie, therapist2)])
    return {"clinics": [demo, other], "admin_other": other_admin}


def _seed_consent(clinic: Clinic, children: list[Child]) -> None:
    from django.utils import timezone

    from sessions.families.models import ConsentPurpose, ConsentRecord, ConsentText

    for purpose in ConsentPurpose:
        text, _ = ConsentText.objects.get_or_create(
            clinic=clinic,
            purpose=purpose,
            version=1,
            defaults={"body": f"I agree to: {purpose.label.lower()} (demo wording)."},
        )
        for child in children:
            # Charlie's family has not agreed to model training: the demo shows that gate.
            if purpose == ConsentPurpose.TRAINING and child.code == "C-CHAR03":
                continue
            if not ConsentRecord.objects.filter(
                child=child, purpose=purpose, revoked_at=None
            ).exists():
                ConsentRecord.objects.create(
                    child=child,
                    purpose=purpose,
                    text=text,
                    given_by="Demo guardian",
                    recorded_at=timezone.now(),
                )


def _seed_exercises(therapist: User, children: list[Child]) -> None:
    """Give the first children two ready-made practice exercises (assigning twice is a no-op)."""
    from sessions.exercises.models import Exercise
    from sessions.exercises.services import assignment_create, library_install

    for child in children:
        library_install(clinic=child.clinic)
        for exercise in Exercise.objects.filter(clinic=child.clinic).exclude(library_key="")[:2]:
            assignment_create(child=child, exercise=exercise, assigned_by=therapist)


def _seed_recordings(pairs: list[tuple[Child, User]]) -> None:
    """Give each child's latest session a generated recording, analysed by the demo worker."""
    import tempfile
    from pathlib import Path

    import soundfile as sf
    from django.core.files import File

    from analysis.engine.benchmarks.synthetic import speechlike_conversation
    from analysis.registry.services import ensure_default_models
    from analysis.services import recording_create

    ensure_default_models()  # the recordings are analysed with the shipped default
    for index, (child, therapist) in enumerate(pairs):
        session = child.sessions.order_by("-date").first()
        if session is None or session.recordings.exists():
            continue
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo-session.wav"
            sf.write(path, 0.8 * speechlike_conversation(40.0, seed=index), 16000)
            with path.open("rb") as handle:
                recording_create(
                    session=session,
                    uploaded_file=File(handle, name=path.name),
                    uploaded_by=therapist,
                )
