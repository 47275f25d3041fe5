"""Private servers for the fault tests: a Redis broker and a PostgreSQL cluster of their own.

The PostgreSQL, Redis and RabbitMQ on the standard ports are shared by everyone running tests on
the machine, so an outage is made on a private instance on a free port: stopping it is a real
outage for the worker and the test process that use it, and nobody else notices.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ser_portal.celery_process import CeleryProcess, beat_argv
from tests.celery_worker import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_together(*processes: Any) -> None:
    """Start workers and beat side by side (each takes seconds to import and connect)."""
    with ThreadPoolExecutor(len(processes)) as pool:
        for future in [pool.submit(process.start) for process in processes]:
            future.result()


def _wait_port(port: int, up: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not go {'up' if up else 'down'} within {timeout} s")


class PrivateRedis:
    """A Redis on its own port with the production broker's persistence (append-only file), so
    that queued tasks survive a restart as they do in docker/compose.yaml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        _wait_port(self.port, up=False)


def _postgres_bin(name: str) -> str:
    """The server binaries of Debian's PostgreSQL packages (not on PATH there)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    return shutil.which(name) or name


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on its own port, trust authentication.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
    (created by Debian's server package) and its folder lives outside root's private tmp."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ser-private-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user: str | None = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.folder, user=self.user)

    def _run(self, *args: str, timeout: float = 120.0) -> None:
        subprocess.run(list(args), check=True, capture_output=True, timeout=timeout, user=self.user)

    def init(self) -> None:
        self._run(
            _postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c shared_buffers=32MB -c max_connections=40"
        )
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def copy_database(self, source: dict[str, Any], name: str) -> None:
        """Create ``name`` here as a copy (schema and rows) of the ``source`` database."""
        target = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._run(_postgres_bin("createdb"), *target, name)
        dump = subprocess.run(
            [
                _postgres_bin("pg_dump"),
                "-h",
                source["HOST"] or "127.0.0.1",
                "-p",
                str(source["PORT"] or 5432),
                "-U",
                source["USER"] or "postgres",
                "--no-owner",
                "--no-privileges",
                source["NAME"],
            ],
            check=True,
            capture_output=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [_postgres_bin("psql"), *target, "-q", "-v", "ON_ERROR_STOP=1", "-d", name],
            input=dump,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class BeatProcess:
    """``celery beat`` on the configuration of a test's worker (same environment)."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.lines: list[str] = []
        self._celery: CeleryProcess | None = None

    @property
    def process(self) -> subprocess.Popen[str] | None:
        return self._celery.process if self._celery is not None else None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._celery = CeleryProcess(
            beat_argv(self.folder / "celerybeat-schedule"),
            cwd=ROOT,
            env=self.env,
            ready_marker=None,
            lines=self.lines,
        )
        self._celery.start()

    def stop(self) -> None:
        if self._celery is not None:
            self._celery.stop(15, 5)


@contextmanager
def producer_broker(url: str) -> Iterator[None]:
    """Point this test process's Celery producer (uploads, re-sends) at another broker."""
    from ser_portal.celery import app

    def reset() -> None:
        from kombu import pools

        # app._pool is kombu's process-wide pool of the URL: closing it while kombu's registry
        # keeps it made every later send of this process fail ("Acquire on closed pool").
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    old_url, old_options = app.conf.broker_url, app.conf.broker_transport_options
    reset()
    app.conf.broker_url, app.conf.broker_transport_options = url, {}
    try:
        yield
    finally:
        reset()
        app.conf.broker_url, app.conf.broker_transport_options = old_url, old_options
