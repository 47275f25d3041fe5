"""ser_portal.celery_process: the one launcher of Celery subprocesses (tests, bench_feedback)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from ser_portal.celery_process import CeleryProcess, beat_argv, worker_argv

ROOT = Path(__file__).resolve().parents[2]


def test_argv_is_the_workers_and_beats_command_line(tmp_path: Path) -> None:
    celery = [sys.executable, "-m", "celery", "-A", "ser_portal"]
    worker = [
        *celery, "worker", "-Q", "p.long,p.short", "--concurrency", "1", "--loglevel", "INFO",
        "-n", "node@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    assert worker_argv("p.long,p.short", "node") == worker
    assert worker_argv("p.long,p.short", "node", nice=5) == ["nice", "-n", "5", *worker]
    schedule = tmp_path / "celerybeat-schedule"
    assert beat_argv(schedule) == [
        *celery, "beat", "--loglevel", "INFO", "--schedule", str(schedule)
    ]  # fmt: skip


def _group(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of process group ``pgid``."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return found


@pytest.mark.slow
def test_a_started_worker_is_ready_its_output_kept_and_stop_ends_its_whole_group(
    queue_prefix: str,
) -> None:
    queue = f"{queue_prefix}default"  # a private queue: no task of anyone else arrives
    name = f"{queue_prefix}celery-process-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ser_portal.settings.test",
        "SER_QUEUE_PREFIX": queue_prefix,
        "PYTHONUNBUFFERED": "1",
    }
    # The real worker, after a shell has left a `sleep` in its process group (as a task's
    # ffmpeg would be): the worker does not stop it, only a signal to the whole group does.
    argv = ["sh", "-c", 'sleep 300 >/dev/null 2>&1 & exec "$@"', "sh", *worker_argv(queue, name)]
    worker = CeleryProcess(argv, cwd=ROOT, env=env)
    worker.start()
    try:
        assert worker.wait_ready(120), worker.lines[-40:]
        assert worker.process is not None
        pid = worker.process.pid
        assert os.getpgid(pid) == pid  # its own session and process group
        assert any(f"{name}@" in line and " ready." in line for line in worker.lines)
        assert any(queue in line for line in worker.lines)  # the banner names its queue
        commands = [" ".join(process.cmdline()) for process in _group(pid)]
        assert any("celery" in command and "worker" in command for command in commands)
        assert any(command.startswith("sleep 300") for command in commands), commands
        assert len(commands) >= 3, commands  # the main process, its pool process, the sleep
        worker.stop()
        assert worker.process.returncode is not None
        assert not worker.running()
        deadline = time.monotonic() + 10
        while _group(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(pid) == []
        worker.stop()  # stopping a stopped worker does nothing
    finally:
        worker.kill()
