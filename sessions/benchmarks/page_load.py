"""How fast the session page and the child page become usable in a real browser, and how many
static bytes the session page transfers.

``python -m sessions.benchmarks.page_load [--runs 5]`` builds a throwaway portal in a temporary
folder (the demo's configuration: SQLite, static files collected as production serves them:
hashed names, gzip/brotli, a year's cache), with a 45-minute session recording (~700
segments) and a child with 52 weekly analysed sessions (as ``manage.py bench_workspace``),
starts gunicorn on 127.0.0.1 as production runs it, and opens each page in headless Chromium,
each run in a fresh browser context (an empty cache: a first visit), logged in.

Printed per page (median, min and max over the runs; one earlier discarded run warms the
server):

- interactive: from navigation start until the load event has fired and the page's chart is
  drawn (the timeline of the session page, which needs its data from the API; the trend chart
  of the child page), as ``performance.now()`` in the page;
- the load event, and the server's time to the first byte of the HTML;
- for the session page, the bytes transferred for static files (``/static/``, compressed as
  sent, headers included: Resource Timing ``transferSize``) and for everything.

``--json`` prints every run's figures, with the page's other requests (API calls) and when
each started and ended.

Nothing is kept: the temporary folder is removed at the end (``--keep`` keeps it). Targets of
issue 14: both pages interactive in < 1.0 s on localhost, < 1.5 MB static for the session page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PASSWORD = "bench-pass-12345"  # noqa: S105 - a throwaway account of a throwaway database
EMAIL = "bench-therapist@bench.invalid"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The moment a page is usable: the load event has fired and its chart is drawn.
READY = {
    "session page": "#timeline .main-svg",
    "child page": "#trend-chart .main-svg",
}
_READY_JS = """(selector) => {
  const drawn = document.readyState === "complete" && document.querySelector(selector);
  if (drawn && window.__interactive === undefined) window.__interactive = performance.now();
  return Boolean(drawn);
}"""
_FIGURES_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const isStatic = (r) => new URL(r.name).pathname.startsWith("/static/");
  const sum = (list, key) => list.reduce((total, r) => total + (r[key] || 0), 0);
  const statics = resources.filter(isStatic);
  return {
    interactive_ms: Math.max(window.__interactive, nav.loadEventEnd),
    load_ms: nav.loadEventEnd,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    ttfb_ms: nav.responseStart - nav.requestStart,
    static_transferred: sum(statics, "transferSize"),
    static_decoded: sum(statics, "decodedBodySize"),
    static_files: statics.length,
    total_transferred: sum(resources, "transferSize") + (nav.transferSize || 0),
    requests: resources.filter((r) => !isStatic(r)).map((r) => ({
      path: new URL(r.name).pathname, start: Math.round(r.startTime),
      end: Math.round(r.responseEnd)})),
    largest_static: statics.reduce((big, r) => (r.transferSize > (big.size || 0)
      ? {name: new URL(r.name).pathname, size: r.transferSize} : big), {}),
  };
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(folder: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "MEDIA_ROOT", "SER_MODELS_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DJANGO_SETTINGS_MODULE="ser_portal.settings.demo",
        SER_VAR_DIR=str(folder),
        MEDIA_ROOT=str(folder / "media"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _wav(seconds: float = 60.0, sr: int = 16000) -> bytes:
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t)
    audio = envelope * (0.2 * np.sin(2 * np.pi * 180 * t) + 0.02 * rng.standard_normal(t.size))
    buffer = io.BytesIO()
    sf.write(buffer, audio.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _build(options: argparse.Namespace) -> dict[str, str]:
    """Migrate, collect static files and create the bench data; return the pages' paths."""
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.urls import reverse

    from sessions.models import Child, Clinic, Membership, Recording, Role, TherapySession, User
    from sessions.workspace.synthetic import done_run

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    clinic = Clinic.objects.create(name="Bench clinic", slug="bench-clinic-page-load")
    therapist = User.objects.create_user(email=EMAIL, password=PASSWORD, full_name="Bench")
    Membership.objects.create(user=therapist, clinic=clinic, role=Role.THERAPIST)
    child = Child.objects.create(
        clinic=clinic, given_name="Bench", family_name="Child", date_of_birth=dt.date(2018, 1, 1)
    )
    child.therapists.add(therapist)
    audio = _wav()
    session = None
    for week in range(options.sessions):
        session = TherapySession.objects.create(
            child=child,
            therapist=therapist,
            date=dt.date(2025, 1, 6) + dt.timedelta(weeks=week),
            kind="group" if week % 5 == 4 else "individual",
            title=f"Week {week + 1}",
        )
        recording = Recording.objects.create(
            session=session, original_name="session.wav", sha256="0" * 64, size_bytes=len(audio)
        )
        last = week == options.sessions - 1
        if last:
            recording.file.save("session.wav", ContentFile(audio), save=True)
        done_run(
            recording,
            segments=options.segments if last else 40,
            duration_s=options.minutes * 60 if last else 600.0,
            seed=week,
            frame_s=0.85 if last else 5.0,
            child_share=0.3 + 0.005 * week,
        )
    assert session is not None
    return {
        "session page": reverse("session_detail", args=[session.pk]),
        "child page": reverse("child_detail", args=[child.pk]),
    }


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "ser_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        env=_environment(folder),
        cwd=Path(__file__).resolve().parent.parent.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"gunicorn did not start; see {folder / 'server.log'}")


def _measure(base: str, pages: dict[str, str], runs: int) -> dict[str, list[dict[str, Any]]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, Any]]] = {name: [] for name in pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        login = browser.new_context()
        page = login.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_load_state("networkidle")
        state = login.storage_state()
        login.close()
        for name, path in pages.items():
            for run in range(runs + 1):
                # A fresh context per run: nothing cached, as on a first visit.
                context = browser.new_context(storage_state=state)
                tab = context.new_page()
                tab.goto(base + path, wait_until="load")
                tab.wait_for_function(_READY_JS, arg=READY[name], polling="raf", timeout=60_000)
                figures = tab.evaluate(_FIGURES_JS)
                context.close()
                if run:  # the first run warms the server's caches and is not counted
                    results[name].append(figures)
        browser.close()
    return results


def _row(values: list[float]) -> str:
    return (
        f"{statistics.median(values):8.0f}{min(values):8.0f}{max(values):8.0f}"
        if values
        else "       -"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured loads per page")
    parser.add_argument("--segments", type=int, default=700)
    parser.add_argument("--minutes", type=float, default=45.0)
    parser.add_argument("--sessions", type=int, default=52)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ser-page-load-"))
    os.environ.update(_environment(folder))
    server = None
    try:
        pages = _build(options)
        port = _free_port()
        server = _serve(folder, port)
        results = _measure(f"http://127.0.0.1:{port}", pages, options.runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if options.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'page (ms)':<34}{'median':>8}{'min':>8}{'max':>8}")
    for name, rows in results.items():
        for key, label in (
            ("interactive_ms", "interactive"),
            ("load_ms", "load event"),
            ("ttfb_ms", "server, first byte"),
        ):
            print(f"{name + ': ' + label:<34}{_row([r[key] for r in rows])}")
    session_rows = results["session page"]
    static = [r["static_transferred"] for r in session_rows]
    decoded = [r["static_decoded"] for r in session_rows]
    total = [r["total_transferred"] for r in session_rows]
    largest = session_rows[0]["largest_static"] if session_rows else {}
    print(
        f"session page static transferred: {statistics.median(static) / 1e6:.3f} MB "
        f"({session_rows[0]['static_files']} files, {statistics.median(decoded) / 1e6:.3f} MB "
        f"uncompressed; largest {largest.get('name')} {largest.get('size', 0) / 1e3:.0f} kB); "
        f"everything transferred: {statistics.median(total) / 1e6:.3f} MB"
    )
    print(
        f"{options.runs} cold-cache loads per page (fresh browser context each) after one warm-up; "
        f"data: {options.segments} segments / {options.minutes:g} min session, "
        f"{options.sessions} sessions of the child; gunicorn 2 workers x 4 threads, headless "
        "Chromium, 127.0.0.1"
    )


if __name__ == "__main__":
    main()
