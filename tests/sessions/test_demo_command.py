"""``manage.py demo`` (what ``make demo`` runs) works from a clean state, headless.

It starts on the embedded defaults (SQLite, filesystem broker) in an empty var directory, serves
the login page, prints the URL and the demo logins, and Ctrl-C (SIGINT) stops the web server and
every worker it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from sessions.demo_data import DEMO_LOGINS, DEMO_PASSWORD
from tests.conftest import demo_environment

STARTUP_TIMEOUT_S = 240  # migrations, seeding and model set-up on a cold, shared machine
STOP_TIMEOUT_S = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc; children may run in their own sessions)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.mark.slow
def test_demo_starts_serves_the_login_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = demo_environment(tmp_path, PYTHONUNBUFFERED="1")
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        status = 0
        while time.monotonic() < deadline and demo.poll() is None:
            status = _get(f"http://127.0.0.1:{port}/accounts/login/")
            if status == 200:
                break
            time.sleep(1)
        output = log.read_text()
        assert demo.poll() is None, f"demo exited early:\n{output}"
        assert status == 200, f"login page never answered 200:\n{output}"

        # It is the demo clinic that answers, on the embedded defaults.
        assert (tmp_path / "ser_portal.sqlite3").exists()
        assert _get(f"http://127.0.0.1:{port}/healthz") == 200
        assert f"SER Portal demo running at http://127.0.0.1:{port}/" in output
        assert DEMO_PASSWORD in output
        for login in DEMO_LOGINS:
            assert login.email in output

        # The web server and the two workers (and their pool processes) are all up.
        time.sleep(3)
        started = _children_of(demo.pid)
        assert len(started) >= 3, f"expected web + 2 workers, got {started}"

        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=STOP_TIMEOUT_S)
        assert demo.returncode == 0, log.read_text()
        assert "Stopped." in log.read_text()
        still_running = {pid for pid in started if _alive(pid)}
        assert still_running == set(), f"left running after Ctrl-C: {still_running}"
        assert _get(f"http://127.0.0.1:{port}/accounts/login/") == 0
    finally:
        if demo.poll() is None:
            demo.kill()
        for pid in started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_static_files_are_collected_again_only_when_a_source_changed(
    tmp_path: Path, settings: Any
) -> None:
    from sessions.management.commands.demo import STAMP_NAME, collect_static

    source = tmp_path / "source"
    source.mkdir()
    script = source / "app.js"
    script.write_text("console.log('one');\n")
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    manifest = tmp_path / "static" / "staticfiles.json"

    assert collect_static() is True
    first = json.loads(manifest.read_text())["paths"]["app.js"]
    collected_at = manifest.stat().st_mtime_ns
    assert collect_static() is False  # nothing changed: no second collection
    assert manifest.stat().st_mtime_ns == collected_at

    script.write_text("console.log('two');\n")
    os.utime(script, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert collect_static() is True
    second = json.loads(manifest.read_text())["paths"]["app.js"]
    assert second != first and (tmp_path / "static" / second).read_text() == "console.log('two');\n"

    (tmp_path / "static" / STAMP_NAME).unlink()  # as after a collection cut short
    assert collect_static() is True
    manifest.unlink()
    assert collect_static() is True
    assert manifest.exists()
