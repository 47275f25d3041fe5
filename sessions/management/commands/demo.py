"""``manage.py demo``: migrate, seed and run the web server plus workers until Ctrl-C."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from sessions.demo_data import DEMO_LOGINS, DEMO_PASSWORD

STAMP_NAME = ".collected-from"


def static_sources_fingerprint() -> str:
    """A digest of every file collectstatic would collect (its path, size and modification
    time, as the staticfiles finders list them) and of the storage that collects them."""
    from django.apps import apps
    from django.contrib.staticfiles.apps import StaticFilesConfig
    from django.contrib.staticfiles.finders import get_finders

    config = apps.get_app_config("staticfiles")
    assert isinstance(config, StaticFilesConfig)
    ignore = config.ignore_patterns  # collectstatic's own default
    digest = hashlib.sha256(repr(settings.STORAGES["staticfiles"]).encode())
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            stat = os.stat(storage.path(path))
            entries.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    for entry in sorted(entries):
        digest.update(entry.encode() + b"\n")
    return digest.hexdigest()


def collect_static() -> bool:
    """Hashed, pre-compressed static files in STATIC_ROOT, collected only when a source file
    (or the storage) changed since the last collection: whitenoise compresses every file again
    on each run, ~10 s of every demo start on 2 cores. True when it collected."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    stamp = Path(settings.STATIC_ROOT) / STAMP_NAME
    fingerprint = static_sources_fingerprint()
    manifest_name = getattr(staticfiles_storage, "manifest_name", None)  # manifest storages
    manifest_kept = manifest_name is None or staticfiles_storage.exists(manifest_name)
    if manifest_kept and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    stamp.unlink(missing_ok=True)  # a collection cut short must not look complete
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(fingerprint)
    return True


class Command(BaseCommand):
    help = "Run the whole portal for a demo: web server, workers (long and short queues), beat."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-seed", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            # kombu's filesystem transport expects its folders to exist.
            for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
                if isinstance(folder, str):
                    Path(folder).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        collect_static()
        if not options["no_seed"] and settings.SER_DEMO_MODE:
            call_command("seed_demo")
        call_command("ensure_default_model", verbosity=0)
        host, port = options["host"], options["port"]
        python = sys.executable
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "ser_portal.settings.demo"
            ),
        }
        celery = [
            python,
            "-m",
            "celery",
            "-A",
            "ser_portal",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
        ]
        commands = {
            "web": [python, str(manage_py), "runserver", f"{host}:{port}", "--noreload"],
            "worker-long": [*celery, "-Q", settings.SER_QUEUE_LONG, "-n", "long@%h"],
            "worker-short": [
                *celery,
                "-Q",
                f"{settings.SER_QUEUE_SHORT},{settings.SER_QUEUE_DEFAULT}",
                "-n",
                "short@%h",
                "--beat",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }
        stopping = False
        failed: str | None = None

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        # Handlers first: a Ctrl-C while the processes start must still stop all of them.
        # Each child runs in its own session, so the terminal's SIGINT reaches only this
        # process, which then stops the children in order.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(
                    command, env=env, cwd=settings.BASE_DIR, start_new_session=True
                )
            url = f"http://{host}:{port}/"
            self.stdout.write(self.style.SUCCESS(f"\nSER Portal demo running at {url}"))
            self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
            for login in DEMO_LOGINS:
                self.stdout.write(f"  {login.email:<26} {login.note}")
            self.stdout.write("Press Ctrl-C to stop everything.\n")
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping.")
                        failed = failed or name
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    # The main process only: Celery then stops its pool children itself.
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            self.stdout.write("Stopped.")
        if failed:
            raise CommandError(f"The {failed} process stopped unexpectedly (see its output above).")
