"""Start and stop a ``celery worker`` or ``celery beat`` subprocess in its own process group.

Used by the tests that need a real worker (tests/celery_worker.py, tests/reliability) and by
``manage.py bench_feedback``. The process gets its own session, so stopping it signals the whole
group (the worker and its pool children); its output (stdout and stderr) is kept in ``lines``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

# A worker writes this at the end of its start ("celery@host ready.").
WORKER_READY = " ready."


def worker_argv(queues: str, name: str, nice: int = 0) -> list[str]:
    """One worker process (concurrency 1) on ``queues`` (comma-separated), node ``name@%h``,
    without the gossip, mingle and heartbeat chatter; under ``nice -n NICE`` when given."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ser_portal",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return ["nice", "-n", str(nice), *argv] if nice else argv


def beat_argv(schedule: Path) -> list[str]:
    """``celery beat`` keeping its schedule state in the file ``schedule``."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ser_portal",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(schedule),
    ]


class CeleryProcess:
    """One Celery subprocess: ``start()`` it, ``wait_ready()``, then ``stop()`` or ``kill()``.

    ``ready_marker``: the output that means "started" (None: no readiness line is watched).
    ``lines``: the list the output lines are appended to (a caller that starts one process after
    another can keep a single list); a new one by default.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str],
        ready_marker: str | None = WORKER_READY,
        lines: list[str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.ready_marker = ready_marker
        self.lines: list[str] = [] if lines is None else lines
        self.ready = threading.Event()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.ready.clear()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip())
            if self.ready_marker is not None and self.ready_marker in line:
                self.ready.set()

    def wait_ready(self, timeout: float) -> bool:
        """Whether the readiness marker was written within ``timeout`` seconds."""
        return self.ready.wait(timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, wait_s: float = 10.0) -> None:
        """SIGKILL the whole process group (main process and pool children), as a crash would."""
        if self.process is not None and self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(wait_s)

    def stop(self, wait_s: float = 30.0, kill_wait_s: float = 10.0) -> None:
        """SIGTERM the process group and wait up to ``wait_s``; then SIGKILL it."""
        if self.process is None or not self.running():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(wait_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(kill_wait_s)
