"""Starting a model evaluation from the clinic console: a background task with its progress on
the page, the figures on the model's page when it finishes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.models import EmotionModelVersion
from analysis.registry import evaluation
from sessions.models import AuditEvent
from tests.analysis.model_archives import write_ravdess_dir
from tests.conftest import Cast


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ravdess(tmp_path: Path, settings: Any) -> Path:
    data = write_ravdess_dir(tmp_path / "ravdess-mini", actors=(1, 2, 3, 4))
    settings.SER_EVALUATION_DATA_DIRS = [str(data), str(tmp_path / "missing")]
    return data


def _url(version: EmotionModelVersion) -> str:
    return reverse("console_model_evaluate", args=[version.pk])


@pytest.mark.django_db
def test_the_page_offers_only_data_folders_that_exist(
    cast: Cast, active_model: Any, ravdess: Path
) -> None:
    page = _client(cast.admin).get(_url(active_model))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="ravdess-mini">ravdess-mini</option>' in html
    assert "missing" not in html
    assert "has not been evaluated from the console yet" in html


@pytest.mark.django_db
def test_without_data_folders_the_page_says_what_the_operator_can_do(
    cast: Cast, active_model: Any, settings: Any
) -> None:
    settings.SER_EVALUATION_DATA_DIRS = []
    html = _client(cast.admin).get(_url(active_model)).content.decode()
    assert "No labelled audio is available on this server" in html
    assert "SER_EVALUATION_DATA_DIRS" in html
    # A forged choice is refused at the form, nothing starts.
    response = _client(cast.admin).post(_url(active_model), {"dataset": "ravdess", "folds": "0"})
    assert response.status_code == 200
    assert evaluation.job(EmotionModelVersion.objects.get(pk=active_model.pk)) is None


@pytest.mark.django_db
def test_starting_queues_one_job_and_a_second_start_is_refused(
    cast: Cast, active_model: Any, ravdess: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(cast.admin)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(_url(active_model), {"dataset": "ravdess-mini", "folds": "2"})
    assert response.status_code == 302
    assert len(callbacks) == 1  # the task is sent once the start is committed
    active_model.refresh_from_db()
    state = evaluation.job(active_model)
    assert state is not None
    assert (state["status"], state["data"], state["folds"]) == ("queued", "ravdess-mini", 2)
    entry = AuditEvent.objects.get(object_type="model_evaluation")
    assert (entry.actor, entry.action, entry.clinic_id) == (cast.admin, "create", cast.clinic.pk)
    again = client.post(_url(active_model), {"dataset": "ravdess-mini", "folds": "0"})
    assert "An evaluation is under way" in again.content.decode()
    active_model.refresh_from_db()
    assert evaluation.job(active_model)["id"] == state["id"]  # type: ignore[index]
    status = client.get(_url(active_model), {"format": "json"}).json()
    assert status["status"] == "queued" and status["active"] is True


@pytest.mark.django_db
def test_the_run_scores_stores_the_figures_and_runs_once(
    cast: Cast, active_model: Any, ravdess: Path
) -> None:
    state = evaluation.evaluation_start(
        version=active_model, actor=cast.admin, data="ravdess-mini", folds=2
    )
    assert evaluation.evaluation_run(active_model.pk, state["id"]) == "done"
    assert evaluation.evaluation_run(active_model.pk, state["id"]) == "skipped"
    active_model.refresh_from_db()
    assert active_model.evaluation["n_clips"] == 16
    assert active_model.evaluation["folds"]["k"] == 2
    assert active_model.evaluation["data"] == "ravdess-mini"
    done = evaluation.job(active_model)
    assert done is not None
    assert (done["status"], done["progress"], done["done"], done["total"]) == ("done", 100, 16, 16)
    client = _client(cast.admin)
    detail = client.get(reverse("console_model_detail", args=[active_model.pk])).content.decode()
    assert "held-out evaluation on 16 clips (ravdess-mini)" in detail.lower()
    page = client.get(_url(active_model)).content.decode()
    assert "See the figures on the model" in page
    # Finished: a new evaluation may start.
    assert "Start the evaluation" in page


@pytest.mark.django_db
def test_a_run_that_cannot_read_its_data_fails_with_a_reason_and_keeps_the_figures(
    cast: Cast, active_model: Any, ravdess: Path, settings: Any
) -> None:
    EmotionModelVersion.objects.filter(pk=active_model.pk).update(
        evaluation={"eight_class": {"ua": 0.5}}
    )
    active_model.refresh_from_db()
    state = evaluation.evaluation_start(
        version=active_model, actor=cast.admin, data="ravdess-mini", folds=0
    )
    for clip in ravdess.rglob("*.wav"):
        clip.unlink()
    assert evaluation.evaluation_run(active_model.pk, state["id"]) == "failed"
    active_model.refresh_from_db()
    failed = evaluation.job(active_model)
    assert failed is not None and failed["status"] == "failed" and failed["error"]
    assert active_model.evaluation["eight_class"] == {"ua": 0.5}
    page = _client(cast.admin).get(_url(active_model)).content.decode()
    assert failed["error"] in page.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["therapist", "guardian", "other_admin"])
def test_only_the_clinics_admins_evaluate_its_models(
    cast: Cast, active_model: Any, persona: str
) -> None:
    client = _client(cast.user(persona))
    assert client.get(_url(active_model)).status_code == 404
    assert client.post(_url(active_model), {"dataset": "x"}).status_code == 404


@pytest.mark.slow
def test_a_real_worker_runs_the_evaluation_and_the_page_follows_its_progress(
    cast: Cast, active_model: Any, ravdess: Path, queue_prefix: str, transactional_db: Any
) -> None:
    from tests.celery_worker import WorkerProcess

    worker = WorkerProcess(queue_prefix, extra_env={"SER_EVALUATION_DATA_DIRS": str(ravdess)})
    worker.start()
    try:
        client = _client(cast.admin)
        response = client.post(_url(active_model), {"dataset": "ravdess-mini", "folds": "0"})
        assert response.status_code == 302
        seen: list[str] = []
        deadline = time.monotonic() + 180
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = client.get(_url(active_model), {"format": "json"}).json()
            seen.append(status["status"])
            if status["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert status["status"] == "done", (status, worker.lines[-20:])
        assert status["progress"] == 100 and status["total"] == 16
    finally:
        worker.stop()
    active_model.refresh_from_db()
    assert active_model.evaluation["n_clips"] == 16
    assert active_model.evaluation["command"] == "console evaluation"
