"""Start and stop a real Celery worker subprocess for tests that need the whole pipeline."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection

from ser_portal.celery_process import CeleryProcess, worker_argv

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    def __init__(
        self,
        prefix: str,
        queues: tuple[str, ...] = ("long", "short", "default"),
        name: str = "",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.prefix = prefix
        self.queues = queues
        self.name = name  # tells several workers of one test apart (each needs its own node)
        # Overrides of the worker's environment (another MEDIA_ROOT, object storage...).
        self.extra_env = extra_env or {}
        self.lines: list[str] = []
        self._celery: CeleryProcess | None = None

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        if connection.vendor == "sqlite":  # the demo's configuration (settings.test_sqlite)
            url = f"sqlite:///{db['NAME']}"
        else:
            user, host = db["USER"] or "postgres", db["HOST"] or "127.0.0.1"
            url = f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
        return {
            **os.environ,
            # The worker runs on the configuration of the tests that started it.
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "ser_portal.settings.test"
            ),
            "TEST_DATABASE_URL": url,
            "SER_QUEUE_PREFIX": self.prefix,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SER_MODELS_DIR": str(settings.SER_MODELS_DIR),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    @property
    def process(self) -> subprocess.Popen[str] | None:
        return self._celery.process if self._celery is not None else None

    def start(self, timeout: float = 90.0) -> None:
        queues = ",".join(self.prefix + q for q in self.queues)
        self._celery = CeleryProcess(
            worker_argv(queues, f"{self.prefix}{self.name}{os.getpid()}"),
            cwd=ROOT,
            env=self.env(),
            lines=self.lines,  # one list across restarts
        )
        self._celery.start()
        if not self._celery.wait_ready(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "\n".join(self.lines[-40:]))

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self._celery is not None:
            self._celery.kill(10)

    def stop(self) -> None:
        if self._celery is not None:
            self._celery.stop(30, 10)


def wait_for(predicate: Callable[[], T], timeout: float = 120.0, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def delete_queues(prefix: str) -> None:
    """Remove this test run's queues from the broker (they are named with its prefix)."""
    from ser_portal.celery import app

    try:
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for name in ("long", "short", "default"):
                try:
                    channel.queue_delete(prefix + name)
                except Exception:  # noqa: S112 - a queue never declared is fine
                    continue
    except Exception:  # noqa: S110 - broker cleanup must never fail a test run
        pass
