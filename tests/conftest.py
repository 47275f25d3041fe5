"""Shared fixtures: the cast of personas every access test uses."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions.models import Child, Clinic, Recording, Role, TherapySession, User
from tests.factories import (
    ChildFactory,
    ClinicFactory,
    TherapySessionFactory,
    member,
    recording_for,
)

PERSONAS = (
    "therapist",  # therapist of the child
    "other_therapist",  # therapist of another child, same clinic
    "guardian",  # the child's guardian
    "other_guardian",  # another family, same clinic
    "admin",  # the clinic's admin
    "other_admin",  # another clinic's admin
    "anonymous",
)


@dataclass
class Cast:
    clinic: Clinic
    other_clinic: Clinic
    therapist: User
    other_therapist: User
    guardian: User
    other_guardian: User
    admin: User
    other_admin: User
    child: Child
    other_child: Child
    session: TherapySession
    recording: Recording
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, persona: str) -> User | None:
        return None if persona == "anonymous" else getattr(self, persona)

    def fresh_copy(self) -> Cast:
        """Copies of the same rows' instances with an empty ``extra``, for one test of a module
        that shares the cast (``module_cast``): nothing one test sets on an instance reaches
        the next."""
        other = copy.deepcopy(self)
        other.extra = {}
        return other


def build_cast() -> Cast:
    clinic = ClinicFactory.create(name="Sunny Clinic")
    other_clinic = ClinicFactory.create(name="Far Clinic")
    therapist = member(clinic, Role.THERAPIST, email="alice@sunny.test")
    other_therapist = member(clinic, Role.THERAPIST, email="bob@sunny.test")
    guardian = member(clinic, Role.GUARDIAN, email="carol@family.test")
    other_guardian = member(clinic, Role.GUARDIAN, email="dave@family.test")
    admin = member(clinic, Role.CLINIC_ADMIN, email="erin@sunny.test")
    other_admin = member(other_clinic, Role.CLINIC_ADMIN, email="frank@far.test")
    child = ChildFactory.create(clinic=clinic, given_name="Mia")
    child.therapists.add(therapist)
    child.guardians.add(guardian)
    other_child = ChildFactory.create(clinic=clinic, given_name="Noah")
    other_child.therapists.add(other_therapist)
    other_child.guardians.add(other_guardian)
    session = TherapySessionFactory.create(child=child, therapist=therapist)
    recording = recording_for(session)
    return Cast(
        clinic,
        other_clinic,
        therapist,
        other_therapist,
        guardian,
        other_guardian,
        admin,
        other_admin,
        child,
        other_child,
        session,
        recording,
    )


# Tests that start processes (workers, a live server, Chromium) or are marked slow take most of
# the suite's time. They run first, so the pytest-xdist workers (``make test``) end on quick
# tests together instead of one of them waiting for the other's last long test. That needs
# ``--maxschedchunk 1`` (the Makefile): xdist's default hands out contiguous blocks of the
# list, which would give every long test to one worker.
_LONG_FIXTURES = frozenset({"celery_worker", "live_server", "browser", "transactional_db"})


def _runs_long(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None or bool(
        _LONG_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests first (a stable sort: within each group the collected order stays)."""
    items.sort(key=lambda item: not _runs_long(item))


@pytest.fixture
def cast(db: Any) -> Cast:
    return build_cast()


@pytest.fixture(scope="module")
def module_cast(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Cast]:
    """The cast built once per test module, in a transaction rolled back after the module.

    A test that uses it requests ``db`` as well, whose transaction then nests as a savepoint
    of this one and is rolled back after the test, so every test starts from the same rows
    and a write by one test never reaches the next (``tests/authz/conftest.py``). Only for
    modules without ``transactional_db`` or ``live_server`` tests (those need commits).
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        # As Django's TestCase marks its own: durable=True blocks inside still work.
        outer._from_testcase = True  # type: ignore[attr-defined]
        outer.__enter__()
        try:
            built = build_cast()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    """Rate-limit counters and cached roles must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Before the test database is dropped, end connections that live-server threads and
    worker subprocesses left open, so the drop succeeds and no database is left behind."""
    from django.db import connection

    test_db = connection.settings_dict["NAME"]
    yield
    if connection.vendor != "postgresql":
        return  # SQLite (the demo's configuration) has no server connections to end
    if not str(test_db).startswith("test_"):
        return  # no test of this run needed the database, so none was created
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_db],
        )


@pytest.fixture
def api() -> APIClient:
    return APIClient()


# --- headless Chromium ----------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A fake microphone that needs no permission prompt (a beep unless ``browser_audio``).
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def browser_audio() -> Path | None:
    """The WAV file Chromium's fake microphone plays (looped; 16-bit PCM). None: its beep.

    A package or module that records a voice overrides this fixture (tests/exercises/)."""
    return None


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, browser_audio: Path | None) -> Iterator[Any]:
    """The one headless Chromium of the browser tests (``-m browser``)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed at {CHROMIUM} (make sysdeps installs it)")
    # Playwright's sync API runs an event loop on this thread; the test's own database calls
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    args = list(CHROMIUM_ARGS)
    if browser_audio is not None:
        args.append(f"--use-file-for-fake-audio-capture={browser_audio}")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield instance
        instance.close()


# What `make demo` runs without: the test run's database, broker, cache, media and mail settings.
_NOT_IN_THE_DEMO = frozenset(
    {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "MEDIA_ROOT",
        "SER_MODELS_DIR",
        "EMAIL_BACKEND",
        "DJANGO_SECRET_KEY",
    }
)


def demo_environment(var_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment as `make demo` sees it: the demo settings (SQLite and the
    filesystem broker in ``var_dir``), none of the test run's services; for a subprocess."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_IN_THE_DEMO}
    env.update(DJANGO_SETTINGS_MODULE="ser_portal.settings.demo", SER_VAR_DIR=str(var_dir))
    env.update(extra)
    return env


def signed_in_page(
    browser: Any, live_server: Any, user: User, *, viewport: dict[str, int] | None = None
) -> Any:
    """A new page of ``browser`` signed in as ``user`` (the session cookie of a forced login),
    relative URLs resolved against ``live_server``. ``page.errors`` collects the failed
    responses (the browser's own favicon probe aside) and script errors, for a test to check."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    options: dict[str, Any] = {"base_url": live_server.url, "device_scale_factor": 1}
    if viewport is not None:
        options["viewport"] = viewport
    context = browser.new_context(**options)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.errors = []
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")
            and page.errors.append(f"{r.status} {r.url}")
        ),
    )
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def grant_consent(child: Child, *purposes: str, actor: User | None = None) -> None:
    """Record the guardian's consent for ``purposes`` (all four when none are named) the way
    the clinic does: through ``sessions.families.services`` (publishing the clinic's consent
    text first where it has none), so the record is audited and analysis consent releases the
    child's recordings that waited for it. Consent already in force is left as it is.

    The one consent helper of the suite (``tests.families.helpers.consent`` is this)."""
    from sessions.families import selectors, services
    from sessions.families.models import ConsentPurpose

    for purpose in purposes or tuple(ConsentPurpose):
        if selectors.consent_text_current(clinic=child.clinic, purpose=purpose) is None:
            label = ConsentPurpose(purpose).label.lower()
            services.consent_text_publish(
                clinic=child.clinic, purpose=purpose, body=f"I agree to {label}.", actor=actor
            )
        services.consent_grant(child=child, purpose=purpose, given_by="A. Guardian", actor=actor)


@pytest.fixture(scope="session")
def queue_prefix() -> Any:
    """A broker namespace of this test run: concurrent runs never consume each other's tasks."""
    import uuid

    prefix = f"test-{uuid.uuid4().hex[:8]}."
    yield prefix
    from tests.celery_worker import delete_queues

    delete_queues(prefix)


@pytest.fixture(autouse=True)
def _isolated_queues(settings: Any, queue_prefix: str) -> None:
    settings.SER_QUEUE_PREFIX = queue_prefix
    settings.SER_QUEUE_DEFAULT = f"{queue_prefix}default"
    settings.SER_QUEUE_LONG = f"{queue_prefix}long"
    settings.SER_QUEUE_SHORT = f"{queue_prefix}short"


@pytest.fixture
def celery_worker(transactional_db: Any, queue_prefix: str, settings: Any) -> Any:
    """A real Celery worker process on the real broker and the test database."""
    from tests.celery_worker import WorkerProcess

    worker = WorkerProcess(queue_prefix)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def active_model(db: Any, cast: Cast, tmp_path_factory: Any) -> Any:
    """A tiny model, registered and active for the cast's clinic (same code path as real ones)."""
    from tests.model_factory import register_tiny_model

    return register_tiny_model(cast.clinic)
