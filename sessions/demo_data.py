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
    for child in (alex, bea):  # the two families of the demo
        _seed_family_screens(child, therapist, today)
    from sessions.validation.demo import seed_blind_labels

    seed_blind_labels(demo, therapist, therapist2, today=today)  # the validation page's figures
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


# What the two demo families' guardians and their therapist find on first login: an analysed
# recording with a few therapist corrections, practice tries (analysed, some reviewed) and a
# released progress report. The analyses and the practice feedback are real runs of the shipped
# default model, made here rather than by the workers so the report released below has figures.
DEMO_CORRECTIONS = ("happy", "neutral")  # the emotions the therapist corrects, in order
DEMO_REVIEWS = ("What a bright, friendly voice!", "Lovely and calm. Well done!")


def _analyse_now(child: Child) -> object | None:
    """Run the analysis of the child's newest recording in this process (the worker's task,
    called eagerly; a worker that gets the same message later skips the finished run)."""
    from analysis.models import AnalysisRun, RunStatus
    from analysis.tasks import analyze_recording

    run = (
        AnalysisRun.objects.filter(recording__session__child=child).order_by("-created_at").first()
    )
    if run is None:
        return None
    if run.status != RunStatus.DONE:
        analyze_recording.apply(args=[str(run.pk)])
        run.refresh_from_db()
    return run if run.status == RunStatus.DONE else None


def _seed_corrections(run: object, therapist: User) -> None:
    """The therapist names the speakers (the analysis leaves voices it does not know as
    "unknown": the demo has no enrolled voices) and corrects two emotions."""
    from analysis.models import AnalysisRun
    from sessions.workspace import selectors as workspace_selectors
    from sessions.workspace import services as workspace_services
    from sessions.workspace.models import SegmentEdit

    assert isinstance(run, AnalysisRun)
    if SegmentEdit.objects.filter(run=run).exists():
        return
    segments = workspace_selectors.effective_segments_for_run(run)
    first_voice = segments[0].get("cluster") if segments else None
    emotions = iter(DEMO_CORRECTIONS)
    for segment in segments:
        role = "therapist" if segment.get("cluster") == first_voice else "child"
        emotion = None
        if role == "child":
            wanted = next(emotions, None)
            if wanted is not None and segment.get("emotion") != wanted:
                emotion = wanted
        if segment.get("speaker") == role and emotion is None:
            continue
        workspace_services.correction_apply(
            recording=run.recording,
            author=therapist,
            action="label",
            segment=str(segment["key"]),
            speaker=role,
            emotion=emotion,
        )


def _seed_practice(child: Child, therapist: User) -> None:
    """Two tries per assigned exercise, analysed by the model; the latest of each reviewed.

    The tries are the exercise's own generated model recording (the demo has no child's
    voice), so the stars say how the model hears that example."""
    from django.core.files import File

    from sessions.exercises import services as exercise_services
    from sessions.exercises.attempts import attempt_process
    from sessions.exercises.library_audio import path_for
    from sessions.exercises.models import Assignment, Attempt

    for assignment in Assignment.objects.filter(child=child, ended_at__isnull=True):
        if Attempt.objects.filter(assignment=assignment).exists():
            continue
        source = path_for(assignment.exercise.library_key)
        if source is None:
            continue
        attempts = []
        for _ in range(2):
            with source.open("rb") as handle:
                attempt, _created = exercise_services.attempt_create(
                    assignment=assignment,
                    uploaded_file=File(handle, name=source.name),
                    uploaded_by=child.guardians.first(),
                )
            attempt_process(attempt.pk)
            attempts.append(attempt)
        latest = Attempt.objects.get(pk=attempts[-1].pk)
        exercise_services.attempt_review(
            attempt=latest,
            reviewer=therapist,
            stars=None,  # the model's stars stand; the therapist adds a word for the family
            conveyed=None,
            encouragement=DEMO_REVIEWS[len(attempts) % len(DEMO_REVIEWS)],
        )


def _seed_report(child: Child, therapist: User, today: dt.date) -> None:
    from sessions.families import services as family_services
    from sessions.families.models import ProgressReport, ReportStatus

    if ProgressReport.objects.filter(child=child, status=ReportStatus.RELEASED).exists():
        return
    sessions = list(child.sessions.order_by("date"))
    if not sessions:
        return
    report = family_services.report_create(
        child=child,
        actor=therapist,
        period_start=sessions[0].date,
        period_end=today,
        sessions=sessions,
        title="Autumn progress report",
        include_listening=True,
        comments=(
            f"{child.given_name} has been practising greetings and taking turns in "
            "conversation. At home, try the 'Happy hello' exercise a few times a week.\n\n"
            "(Demo report: the figures come from generated recordings.)"
        ),
    )
    family_services.report_release(report=report, actor=therapist)


def _seed_family_screens(child: Child, therapist: User, today: dt.date) -> None:
    run = _analyse_now(child)
    if run is not None:
        _seed_corrections(run, therapist)
    _seed_practice(child, therapist)
    from sessions.listening.demo import seed_listening

    seed_listening(child, therapist, today)  # listening sets with three weeks of answers
    _seed_report(child, therapist, today)
