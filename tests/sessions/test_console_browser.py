"""The console's audit log and model-evaluation pages in headless Chromium at phone width:
no sideways scrolling, the filters reachable with the keyboard, the evaluation's progress
updating on its own."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from analysis.registry import evaluation
from sessions.models import AuditEvent
from tests.analysis.model_archives import write_ravdess_dir
from tests.conftest import Cast, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def _page(browser: Any, live_server: Any, user: Any) -> Any:
    return signed_in_page(browser, live_server, user, viewport=PHONE)


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a {PHONE['width']}px screen"


def test_the_audit_log_fits_a_phone_and_filters_from_the_keyboard(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    long_id = "x" * 64
    for i in range(3):
        AuditEvent.objects.create(
            action="view",
            object_type="recording",
            object_id=long_id,
            actor_label=f"a-very-long-address-{i}@some-clinic-with-a-long-name.example",
            clinic_id=cast.clinic.pk,
            child_id=cast.child.pk if i else uuid.uuid4(),
        )
    page = _page(browser, live_server, cast.admin)
    response = page.goto(live_server.url + reverse("console_audit"))
    assert response.status == 200
    assert page.errors == []
    _fits(page)
    assert page.get_by_text(cast.child.code).first.is_visible()
    # The filters by keyboard: type the child's code, press Enter.
    page.get_by_label("Child").focus()
    page.keyboard.type(cast.child.code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"child={cast.child.code}" in page.url
    assert "matching the filters" in page.content()
    _fits(page)
    # The export of what the filters select, downloaded as the admin would.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export 2 entries as CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.count(cast.child.code) == 2
    assert download.value.suggested_filename.startswith("audit-log-")


def test_the_evaluation_page_follows_the_progress_on_a_phone(
    browser: Any, live_server: Any, cast: Cast, active_model: Any, tmp_path: Path, settings: Any
) -> None:
    data = write_ravdess_dir(tmp_path / "ravdess-mini", actors=(1, 2))
    settings.SER_EVALUATION_DATA_DIRS = [str(data)]
    state = evaluation.evaluation_start(
        version=active_model, actor=cast.admin, data="ravdess-mini", folds=0
    )
    page = _page(browser, live_server, cast.admin)
    url = live_server.url + reverse("console_model_evaluate", args=[active_model.pk])
    assert page.goto(url).status == 200
    _fits(page)
    assert page.locator("#evaluation-progress").get_attribute("value") == "0"
    # The worker's part, here in the test process: the page reloads itself when it is done.
    assert evaluation.evaluation_run(active_model.pk, state["id"]) == "done"
    page.wait_for_selector("text=See the figures on the model", timeout=30_000)
    assert page.locator("#evaluation-progress").get_attribute("value") == "100"
    assert page.errors == []
    _fits(page)
