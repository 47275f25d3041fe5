"""Rules that used to exist twice with different behaviour, each now in one place: these tests
pin the behaviour the single copy keeps."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from analysis.models import AnalysisRun
from sessions.models import Recording
from sessions.workspace.models import SegmentEdit
from tests.analysis.model_archives import speechlike_wav_bytes
from tests.conftest import Cast, grant_consent
from tests.factories import recording_for
from tests.families.helpers import analyse

pytestmark = pytest.mark.django_db


def _therapist_label(run: AnalysisRun, emotion: str, author: Any) -> SegmentEdit:
    return SegmentEdit.objects.create(
        run=run,
        operation="relabel",
        start_s=0.0,
        end_s=1.5,
        speaker="child",
        emotion=emotion,
        emotion_by_therapist=True,
        author=author,
    )


def _reanalysed_and_corrected_twice(cast: Cast) -> tuple[Recording, SegmentEdit, SegmentEdit]:
    """One recording analysed, corrected, analysed again and corrected again (the first run's
    corrections stay active: they belong to that run)."""
    recording = recording_for(cast.session, speechlike_wav_bytes(3.0), name="twice.wav")
    first_run = analyse(recording, {"happy": 1.0}, finished_at=timezone.now() - dt.timedelta(1))
    first = _therapist_label(first_run, "sad", cast.therapist)
    second_run = analyse(recording, {"happy": 1.0})
    second = _therapist_label(second_run, "angry", cast.therapist)
    grant_consent(cast.child, "training")
    return recording, first, second


# --- corrected segments: the training data ---------------------------------------------------


def test_reanalysed_corrected_recording_counts_once_in_training_data(cast: Cast) -> None:
    from analysis.registry.selectors import clips_from_corrections
    from sessions.workspace.selectors import corrected_segments

    _, _, second = _reanalysed_and_corrected_twice(cast)
    clips, stats = clips_from_corrections(cast.clinic)
    assert [(clip.label, clip.key) for clip in clips] == [("angry", f"edit:{second.pk}")]
    assert stats["clips"] == 1
    assert [edit.pk for edit in corrected_segments(clinic=cast.clinic)] == [second.pk]


# --- one summary for the pipeline and the corrected timeline ---------------------------------


def test_importing_the_summary_and_the_corrections_loads_no_torch() -> None:
    code = (
        "import sys\n"
        "import analysis.engine.emotion.summary, sessions.workspace.corrections\n"
        "print(sorted(m for m in ('torch', 'torchaudio', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(Path(__file__).resolve().parents[2]),
        check=True,
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_corrected_summary_is_the_pipeline_summary_of_the_same_stretches(cast: Cast) -> None:
    from analysis.engine.emotion.summary import stretches, summarize
    from analysis.engine.emotion.turns import TurnEmotion
    from sessions.workspace import selectors, services
    from sessions.workspace.models import RunCorrectedSummary

    run = analyse(cast.recording, {"happy": 1.0})
    segments = selectors.effective_segments_for_run(run)
    services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=segments[0]["key"],
        emotion="sad",
    )
    corrected = selectors.effective_segments_for_run(run)
    turns = [
        TurnEmotion(
            start_s=s["start_s"],
            end_s=s["end_s"],
            speaker=s["speaker"],
            speaker_confidence=1.0,
            cluster=0,
            emotion=s["emotion"],
            confidence=1.0,
            uncertain=s["uncertain"],
            valence=s["valence"],
            arousal=s["arousal"],
            probabilities=np.zeros(8),
        )
        for s in corrected
    ]
    stored = RunCorrectedSummary.objects.get(run=run).summary
    assert stored == summarize(turns, cast.recording.duration_s)
    assert stored == summarize(stretches(corrected), cast.recording.duration_s)
    assert stored["speakers"]["child"]["emotion_share"]["sad"] == 1.0


# --- one rule for a session's figures: the therapist's trend and the family's report ---------


def test_therapist_trend_and_family_report_give_the_same_session_figures(cast: Cast) -> None:
    from sessions.families.selectors import report_summary
    from sessions.models import TherapySession
    from sessions.workspace.selectors import child_trends

    session = cast.session
    analyse(recording_for(session), {"happy": 1.0}, speech_s=10.0, talk_share=0.3)
    analyse(recording_for(session), {"sad": 0.7, "calm": 0.3}, speech_s=20.0, talk_share=0.45)
    [point] = child_trends(child=cast.child, sessions=TherapySession.objects.all())["points"]
    report = report_summary(
        child=cast.child, sessions=[session], period_start=session.date, period_end=session.date
    )
    [row] = report["sessions"]
    family = row["child"]
    assert row["analysed_recordings"] == 2
    for key in ("speech_s", "talk_share", "valence_mean", "arousal_mean"):
        assert family[key] == point[key], key
    shown = {label: share for label, share in family["emotion_shares"].items() if share}
    assert shown == {label: share for label, share in point["emotion_shares"].items() if share}
    assert shown == {"happy": 0.3333, "sad": 0.4667, "calm": 0.2}
    assert family["talk_share"] == round(30.0 / (10.0 / 0.3 + 20.0 / 0.45), 4)
    # The period's figures of a one-session report are that session's.
    assert report["overall"] == family


# --- one rejection type for every way audio comes in ------------------------------------------


def test_every_audio_path_refuses_with_the_one_rejection_type(cast: Cast, tmp_path: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from analysis import services as analysis_services
    from analysis.services import RecordingRejected
    from sessions.exercises import services as exercise_services
    from sessions.exercises.models import Attempt
    from sessions.workspace import uploads
    from sessions.workspace.models import ChunkedUpload
    from tests.analysis.audio_factory import write_bad_file
    from tests.exercises.factories import make_assignment, make_exercise

    grant_consent(cast.child)
    text = write_bad_file("text_as_wav", tmp_path / "notes.wav").read_bytes()

    def clip() -> SimpleUploadedFile:
        return SimpleUploadedFile("notes.wav", text, content_type="audio/wav")

    recordings = Recording.objects.count()
    with pytest.raises(RecordingRejected) as session_upload:
        analysis_services.recording_create(
            session=cast.session, uploaded_file=clip(), uploaded_by=cast.therapist
        )
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    with pytest.raises(RecordingRejected) as practice:
        exercise_services.attempt_create(
            assignment=assignment, uploaded_file=clip(), uploaded_by=cast.guardian
        )
    with pytest.raises(RecordingRejected) as chunked:
        uploads.upload_create(
            session=cast.session,
            filename="notes.txt",
            size_bytes=len(text),
            content_type="text/plain",
            created_by=cast.therapist,
        )
    assert (session_upload.value.code, practice.value.code) == ("not_audio", "not_audio")
    assert (chunked.value.code, chunked.value.status) == ("unsupported_format", 400)
    for caught in (session_upload, practice, chunked):
        assert caught.value.detail and "error" not in caught.value.detail.lower()
    # Nothing is stored for a refused file.
    assert Recording.objects.count() == recordings
    assert not Attempt.objects.exists() and not ChunkedUpload.objects.exists()


# --- one access module --------------------------------------------------------------------------


def test_every_fetch_if_allowed_helper_lives_in_sessions_access() -> None:
    """``get_*_for_user`` / ``get_*_for_admin`` and the 404-on-forged-id lookup are defined once,
    in ``sessions.access``; the apps' selectors and views call them."""
    import ast
    import re

    root = Path(__file__).resolve().parents[2]
    helper = re.compile(
        r"^(get_\w+_for_(user|admin)|_get_or_404|\w+_visible_to"
        r"|_?\w*therapist_clinic|require_clinic_admin)$"
    )
    found = []
    for package in ("sessions", "analysis"):
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and helper.match(node.name):
                    found.append(f"{path.relative_to(root)}:{node.name}")
    elsewhere = [f for f in found if not f.startswith("sessions/access.py:")]
    assert elsewhere == []
    assert "sessions/access.py:_get_or_404" in found
    assert "sessions/access.py:get_report_for_user" in found
    assert "sessions/access.py:require_therapist_clinic" in found


# --- one chart technique per output --------------------------------------------------------------


def _chart_modules() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for package in ("sessions", "analysis")
        for path in sorted((root / package).rglob("charts.py"))
    }


def test_interactive_charts_are_plotly_json_dicts_and_print_charts_one_svg_renderer() -> None:
    modules = _chart_modules()
    assert set(modules) >= {
        "analysis/registry/charts.py",
        "sessions/exercises/charts.py",
        "sessions/families/charts.py",
        "sessions/workspace/charts.py",
    }
    for name, text in modules.items():
        assert "import plotly" not in text, name  # built as dicts, validated here instead
        svg = "<svg" in text or "mark_safe" in text
        assert svg == (name == "sessions/families/charts.py"), name


def test_every_interactive_figure_is_valid_plotly() -> None:
    """What graph_objects would check at run time (too slow for the timeline), checked here:
    unknown or mistyped properties raise."""
    from types import SimpleNamespace

    import plotly.graph_objects as go

    from analysis.engine.labels import CANONICAL_LABELS
    from analysis.registry.charts import confusion_figure
    from sessions.exercises.charts import exercise_figure, progress_figure
    from sessions.workspace.charts import timeline_figure, trends_figure

    start = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    attempts: Any = [
        SimpleNamespace(
            final_stars=stars,
            finished_at=start,
            created_at=start + dt.timedelta(hours=20 * i),
            target_probability=share,
            assignment=SimpleNamespace(exercise=SimpleNamespace(title=title)),
        )
        for i, (stars, share, title) in enumerate([(1, 0.3, "Hello"), (3, 0.9, "Bye")])
    ]
    probabilities = dict.fromkeys(CANONICAL_LABELS, 1 / len(CANONICAL_LABELS))
    segment = {
        "key": "m:1",
        "index": 0,
        "start_s": 0.0,
        "end_s": 2.0,
        "speaker": "child",
        "emotion": "happy",
        "confidence": 0.4,
        "uncertain": True,
        "uncertain_reason": "low_confidence",
        "valence": 0.5,
        "arousal": 0.3,
        "corrected": False,
        "note": "",
        "speaker_confidence": 0.8,
        "model_speaker": "child",
        "model_emotion": "happy",
    }
    frame = {"speaker": "child", "valence": 0.5, "arousal": 0.3, "probabilities": probabilities}
    workspace = {
        "segments": [segment],
        "frames": [
            {**frame, "start_s": 0.0, "end_s": 1.0},
            {**frame, "start_s": 1.0, "end_s": 2.0},
        ],
        "duration_s": 4.0,
        "no_speech": False,
    }
    point = {
        "date": dt.date(2026, 3, 2),
        "corrected": True,
        "talk_share": 0.4,
        "valence_mean": 0.1,
        "valence_sd": 0.2,
        "arousal_mean": 0.3,
        "arousal_sd": 0.1,
        "emotion_shares": {"happy": 0.6, "calm": 0.4},
    }
    markers = [
        SimpleNamespace(kind="phase", date=dt.date(2026, 3, 1), label="B", metric="", target=None),
        SimpleNamespace(
            kind="goal", date=dt.date(2026, 3, 1), label="more", metric="talk_share", target=0.5
        ),
    ]
    practice = [{"week": dt.date(2026, 3, 2), "attempts": 3, "conveyed_share": 0.66}]
    figures = {
        "confusion": confusion_figure(
            {"labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]}, title="T"
        ),
        "progress": progress_figure(attempts),
        "exercise": exercise_figure(attempts, "happy"),
        "timeline": timeline_figure(workspace),
        "trends": trends_figure({"points": [point], "markers": markers, "practice": practice}),
        "trends, empty": trends_figure({"points": [], "markers": [], "practice": []}),
    }
    for name, figure in figures.items():
        assert (figure is not None and figure["data"]) or name == "trends, empty", name
        go.Figure(figure)  # raises ValueError on anything plotly.js does not know


# --- the speaking and listening practice pages: one consent rule, one clinic-material answer -----


def test_speaking_and_listening_pages_need_recording_and_analysis_consent_alike(
    cast: Cast,
) -> None:
    from django.test import Client
    from django.urls import reverse

    from sessions.families.consent import has_practice_consent

    client = Client()
    client.force_login(cast.therapist)
    exercises = reverse("child_exercises", args=[cast.child.pk])
    listening = reverse("child_listening", args=[cast.child.pk])

    def refused() -> tuple[bool, bool, bool]:
        return (
            not has_practice_consent(cast.child),
            "No recording/analysis consent" in client.get(exercises).content.decode(),
            "No practice consent" in client.get(listening).content.decode(),
        )

    assert refused() == (True, True, True)
    grant_consent(cast.child, "recording", "sharing", "training")
    assert refused() == (True, True, True), "recording consent alone is not enough"
    grant_consent(cast.child, "analysis")
    assert refused() == (False, False, False)
    assert "Recording and analysis consent given" in client.get(exercises).content.decode()


def test_exercise_and_listening_clip_audio_are_cacheable_ranged_and_not_audited(
    cast: Cast,
) -> None:
    from django.test import Client
    from django.urls import reverse

    from sessions.exercises.models import Exercise
    from sessions.listening.models import Clip
    from sessions.models.audit import AuditEvent

    exercise = Exercise.objects.filter(clinic=cast.clinic).exclude(model_audio="").first()
    clip = Clip.objects.filter(clinic=cast.clinic).exclude(audio="").first()
    assert exercise is not None and clip is not None
    client = Client()
    client.force_login(cast.therapist)
    entries = AuditEvent.objects.count()
    for url, field_file in (
        (reverse("exercise_audio", args=[exercise.pk]), exercise.model_audio),
        (reverse("listening_clip_audio", args=[clip.pk]), clip.audio),
    ):
        with field_file.open("rb") as handle:
            data = handle.read()
        whole = client.get(url)
        assert whole.status_code == 200, url
        assert b"".join(whole.streaming_content) == data  # type: ignore[attr-defined]
        assert whole["Cache-Control"] == "private, max-age=3600", url
        part = client.get(url, HTTP_RANGE="bytes=0-9")
        assert part.status_code == 206, url
        assert b"".join(part.streaming_content) == data[:10]  # type: ignore[attr-defined]
        assert part["Cache-Control"] == "private, max-age=3600", url
    assert AuditEvent.objects.count() == entries  # clinic material holds no child's data


# --- one audit entry for reading a child's consents, on every page and the API ------------------


def test_every_consent_read_is_one_view_entry_of_the_childs_consent_records(cast: Cast) -> None:
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from sessions import tokens
    from sessions.models.audit import AuditEvent

    def browser(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {tokens.token_issue(user=cast.admin, mfa_verified=True)}"
    )
    child = str(cast.child.pk)
    reads = [
        (browser(cast.therapist), reverse("child_consent", args=[child]), cast.therapist, None),
        (
            browser(cast.admin),
            reverse("child_consent_grant", args=[child, "sharing"]),
            cast.admin,
            {"form": "grant", "purpose": "sharing"},
        ),
        (
            browser(cast.admin),
            reverse("child_consent_revoke", args=[child, "training"]),
            cast.admin,
            {"form": "revoke", "purpose": "training"},
        ),
        (browser(cast.guardian), reverse("family_consent", args=[child]), cast.guardian, None),
        (api, reverse("api-child-consents", args=[child]), cast.admin, None),
    ]
    for client, url, reader, form in reads:
        AuditEvent.objects.all().delete()
        assert client.get(url).status_code == 200, url
        entry = AuditEvent.objects.get(object_type="consentrecord")
        assert (entry.action, entry.actor, entry.object_id) == ("view", reader, child), url
        assert (entry.child_id, entry.clinic_id) == (cast.child.pk, cast.clinic.pk), url
        assert entry.path == url
        detail = {"page": "family"} if reader == cast.guardian else form or {}
        assert entry.detail == detail, url


# --- consent actions: one admin rule, one purpose parser, one "consent in force" ------------------


def test_recording_or_revoking_consent_answers_alike_on_the_pages_and_the_api(cast: Cast) -> None:
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from sessions import tokens

    def page(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def api(user: Any) -> APIClient:
        client = APIClient()
        token = tokens.token_issue(user=user, mfa_verified=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    child = cast.child.pk
    for action, api_action in (("grant", "grant"), ("revoke", "revoke")):
        page_url = reverse(f"child_consent_{action}", args=[child, "sharing"])
        api_url = reverse(f"api-consent-{api_action}", args=[child, "sharing"])
        answers = {
            "therapist": (page(cast.therapist).get(page_url), api(cast.therapist).post(api_url)),
            "other admin": (
                page(cast.other_admin).get(page_url),
                api(cast.other_admin).post(api_url),
            ),
        }
        assert [r.status_code for r in answers["therapist"]] == [403, 403], action
        assert [r.status_code for r in answers["other admin"]] == [404, 404], action
        no_purpose_page = reverse(f"child_consent_{action}", args=[child, "marketing"])
        no_purpose_api = reverse(f"api-consent-{api_action}", args=[child, "marketing"])
        assert page(cast.admin).get(no_purpose_page).status_code == 404, action
        assert api(cast.admin).post(no_purpose_api).status_code == 404, action
        assert page(cast.admin).get(page_url).status_code == 200, action
    assert not cast.child.consents.exists()  # nothing refused was recorded


def test_consent_live_is_the_record_in_force_for_that_purpose_only(cast: Cast) -> None:
    from sessions.families import selectors, services

    assert selectors.consent_live(child=cast.child, purpose="sharing") is None
    grant_consent(cast.child, "sharing", "training")
    live = selectors.consent_live(child=cast.child, purpose="sharing")
    assert live is not None and (live.purpose, live.revoked_at) == ("sharing", None)
    services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.admin)
    assert selectors.consent_live(child=cast.child, purpose="sharing") is None
    training = selectors.consent_live(child=cast.child, purpose="training")
    assert training is not None and training.purpose == "training"


# --- one schedule form for speaking and listening assignments -----------------------------------


def test_speaking_and_listening_assign_forms_check_the_schedule_alike(cast: Cast) -> None:
    from sessions.exercises.forms import AssignForm
    from sessions.exercises.models import Exercise
    from sessions.listening.forms import ListeningAssignForm
    from sessions.listening.models import ListeningSet

    exercise = Exercise.objects.filter(clinic=cast.clinic).first()
    listening_set = ListeningSet.objects.filter(clinic=cast.clinic).first()
    assert exercise is not None and listening_set is not None
    forms = {
        "speaking": (AssignForm, "exercise", exercise.pk),
        "listening": (ListeningAssignForm, "listening_set", listening_set.pk),
    }
    today = timezone.localdate()
    for name, (form_class, choice, pk) in forms.items():
        unbound = form_class(clinic=cast.clinic)
        assert list(unbound.fields) == [choice, "weekdays", "starts_on", "ends_on", "note"], name
        assert unbound.fields["starts_on"].initial == today, name
        base = {choice: str(pk), "starts_on": "2026-03-10", "note": "Twice a week"}
        backwards = form_class(
            {**base, "weekdays": ["1"], "ends_on": "2026-03-09"}, clinic=cast.clinic
        )
        assert not backwards.is_valid()
        assert backwards.errors == {"ends_on": ["The end date must be on or after the start date."]}
        no_days = form_class(base, clinic=cast.clinic)
        assert not no_days.is_valid()
        assert no_days.errors == {"weekdays": ["This field is required."]}, name
        good = form_class({**base, "weekdays": ["1", "3"]}, clinic=cast.clinic)
        assert good.is_valid(), (name, good.errors)
        assert (good.cleaned_data["weekdays"], good.cleaned_data["ends_on"]) == ([1, 3], None)


def test_speaking_and_listening_assignments_store_the_one_schedule_and_need_no_migration() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.db.models import Field

    from sessions.exercises.models import Assignment, WeekdaySchedule
    from sessions.listening.models import ListeningAssignment

    names = ("assigned_by", "weekdays", "starts_on", "ends_on", "note", "ended_at")
    for model in (Assignment, ListeningAssignment):
        assert issubclass(model, WeekdaySchedule)
        for name in names:
            field, shared = model._meta.get_field(name), WeekdaySchedule._meta.get_field(name)
            assert isinstance(field, Field) and isinstance(shared, Field), name
            assert field.deconstruct()[1:] == shared.deconstruct()[1:], (model.__name__, name)
    # The fields moved into the shared abstract model without changing a column.
    out = StringIO()
    call_command("makemigrations", "exercises", "listening", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# --- one list of a child's assignments in the API, speaking and listening ---------------------


def test_speaking_and_listening_assignment_lists_answer_and_audit_alike(cast: Cast) -> None:
    from django.urls import reverse
    from rest_framework.test import APIClient

    from sessions.models.audit import AuditEvent
    from tests.exercises.factories import make_assignment, make_exercise
    from tests.listening.factories import make_listening_assignment

    make_assignment(cast.child, make_exercise(cast.clinic))
    make_listening_assignment(cast.child)
    lists = {
        "api-exercise-assignments": "assignment",
        "api-listening-assignments": "listeningassignment",
    }
    for name, object_type in lists.items():
        url = reverse(name)
        AuditEvent.objects.all().delete()
        guardian = APIClient()
        guardian.force_authenticate(cast.guardian)
        listed = guardian.get(url, {"child": str(cast.child.pk)})
        assert listed.status_code == 200, name
        assert listed.json()["count"] == 1, name
        entry = AuditEvent.objects.get()
        assert (entry.action, entry.object_type, entry.detail) == (
            "list",
            object_type,
            {"count": 1},
        )
        assert (entry.actor, entry.child_id) == (cast.guardian, cast.child.pk), name
        other = APIClient()
        other.force_authenticate(cast.other_guardian)
        assert other.get(url, {"child": str(cast.child.pk)}).status_code == 404, name
        assert guardian.get(url).status_code == 404, name  # no child named
        assert AuditEvent.objects.count() == 1  # refusals read nothing


# --- one audit entry for a page or API answer that shows a child's object -----------------------


def test_a_view_of_a_childs_object_is_one_entry_on_the_page_and_through_a_token(
    cast: Cast,
) -> None:
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from sessions import tokens
    from sessions.models.audit import AuditEvent

    page = Client()
    page.force_login(cast.therapist)
    api = APIClient()
    token = tokens.token_issue(user=cast.therapist, mfa_verified=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    session = str(cast.session.pk)
    for client, url, detail in (
        (page, reverse("session_detail", args=[session]), {}),
        (page, reverse("session_edit", args=[session]), {"form": "edit"}),
        (api, reverse("api-session-detail", args=[session]), {}),
    ):
        AuditEvent.objects.all().delete()
        assert client.get(url).status_code == 200, url
        entry = AuditEvent.objects.get(object_type="therapysession")
        assert (entry.action, entry.actor, entry.object_id) == ("view", cast.therapist, session)
        assert (entry.child_id, entry.clinic_id, entry.detail) == (
            cast.child.pk,
            cast.clinic.pk,
            detail,
        ), url
