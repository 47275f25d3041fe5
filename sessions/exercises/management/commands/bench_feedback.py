"""``manage.py bench_feedback``: practice-feedback latency while a session is being analysed.

    python manage.py bench_feedback [--session-minutes 45] [--attempts 5] [--attempt-seconds 5]
        [--model shipped|base-random|DIR] [--workers start|existing] [--long-nice 0] [--json OUT]

What it does:

1. Creates a throw-away clinic (therapist, guardian, child with recording and analysis consent,
   a session, an exercise assignment) and an active emotion model: the shipped default,
   ``base-random`` (a base-size wav2vec2 with random weights: the compute of a real checkpoint
   without downloading one) or a model directory.
2. Starts two Celery workers, one on the long queue and one on the short queue, each with one
   process (``--workers existing`` uses the deployment's workers instead). Started workers use
   a private queue prefix, so a running deployment's workers never take the benchmark's tasks.
3. Uploads a synthetic ``--session-minutes`` two-voice recording through
   ``analysis.services.recording_create`` (the real pipeline, long queue) and waits until its
   analysis is running.
4. While it runs, sends ``--attempts`` practice attempts of ``--attempt-seconds`` (WebM/Opus,
   as a browser records them) through ``services.attempt_create`` and measures, for each, the
   time from "upload finished" (the file is on the server; validation and storing count) to
   "feedback stored" (the attempt's ``finished_at``). The browser shows it at its next status
   poll (every 0.4 s), so add up to 0.4 s for "feedback shown".
5. Prints the first and the following attempts' figures (a started short worker loads the model
   before it takes work, as a long-running one has), checks the session was still being
   analysed throughout, then stops the workers and deletes the data.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from ser_portal.celery_process import CeleryProcess, worker_argv

SAMPLE_RATE = 16000


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Worker(CeleryProcess):
    """One Celery worker subprocess (its own process group, so stopping it stops its pool),
    started at once; ``stop()`` waits 20 s for it before SIGKILL."""

    def __init__(self, name: str, queue: str, env: dict[str, str], nice: int = 0) -> None:
        super().__init__(worker_argv(queue, name, nice=nice), cwd=settings.BASE_DIR, env=env)
        self.start()

    def stop(self, wait_s: float = 20.0, kill_wait_s: float = 10.0) -> None:
        super().stop(wait_s, kill_wait_s)


def write_session_flac(path: Path, minutes: float) -> Path:
    """A two-voice speech-like conversation, written in 5-minute blocks (3 distinct ones)."""
    import soundfile as sf

    from analysis.engine.benchmarks.synthetic import speechlike_conversation

    block_s = 300.0
    blocks = [speechlike_conversation(min(block_s, minutes * 60), seed=seed) for seed in (1, 2, 3)]
    remaining = int(minutes * 60 * SAMPLE_RATE)
    with sf.SoundFile(
        str(path), "w", samplerate=SAMPLE_RATE, channels=1, format="FLAC", subtype="PCM_16"
    ) as out:
        i = 0
        while remaining > 0:
            block = blocks[i % len(blocks)][:remaining]
            out.write(block)
            remaining -= block.size
            i += 1
    return path


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    """One child-like voice (F0 around 260 Hz) saying a sentence."""
    from analysis.engine.benchmarks.synthetic import speechlike

    return speechlike(seconds, f0=260.0, seed=seed)


def _write_attempt_webm(path: Path, seconds: float, seed: int) -> Path:
    import av
    import soxr

    audio = soxr.resample(_speechlike(seconds, seed), SAMPLE_RATE, 48000).astype(np.float32)
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(audio[None, :], format="flt", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


class Command(BaseCommand):
    help = "Measure practice-feedback latency while a long session recording is analysed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session-minutes", type=float, default=45.0)
        parser.add_argument("--attempts", type=int, default=5)
        parser.add_argument("--attempt-seconds", type=float, default=5.0)
        parser.add_argument("--pause", type=float, default=2.0, help="Seconds between attempts.")
        parser.add_argument(
            "--model",
            default="auto",
            help="shipped, base-random, a model directory, or auto (shipped "
            "when present, else base-random).",
        )
        parser.add_argument("--workers", choices=["start", "existing"], default="start")
        parser.add_argument(
            "--long-nice",
            type=int,
            default=0,
            help="Niceness of the started long-queue worker (0: same priority).",
        )
        parser.add_argument(
            "--json", dest="json_out", default="", help="Also write the figures to this JSON file."
        )
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark's data.")

    # --- setup ----------------------------------------------------------------------------------

    def _model_dir(self, choice: str, scratch: Path) -> tuple[str, Path | None]:
        """(location for EmotionModelVersion, directory to delete afterwards or None)."""
        from analysis.registry import active as registry

        shipped = registry.SHIPPED_DIR / getattr(registry, "SHIPPED_DEFAULT", "default")
        if choice == "auto":
            choice = "shipped" if (shipped / "ser_model.json").is_file() else "base-random"
        if choice == "shipped":
            if not (shipped / "ser_model.json").is_file():
                raise CommandError(f"No shipped default model at {shipped}.")
            return registry.SHIPPED_PREFIX + shipped.name, None
        target = Path(settings.SER_MODELS_DIR) / f"bench-{scratch.name}"
        if choice == "base-random":
            from analysis.engine.benchmarks.throughput import build_base_model

            self.stdout.write("Building a base-size wav2vec2 with random weights…")
            build_base_model(target)
        else:
            source = Path(choice)
            if not (source / "ser_model.json").is_file():
                raise CommandError(f"{source} is not a model directory (no ser_model.json).")
            shutil.copytree(source, target)
        return str(target.relative_to(settings.SER_MODELS_DIR)), target

    def _setup(self, location: str) -> dict[str, Any]:
        from analysis.engine.classifiers import read_manifest
        from analysis.models import EmotionModelVersion, ModelStatus
        from analysis.registry.active import directory_checksum, model_dir
        from sessions.exercises.models import Assignment, Exercise
        from sessions.families.models import ConsentRecord, ConsentText
        from sessions.models import Child, Clinic, Membership, Role, TherapySession, User

        tag = uuid.uuid4().hex[:8]
        clinic = Clinic.objects.create(name=f"Benchmark {tag}", slug=f"bench-feedback-{tag}")
        therapist = User.objects.create_user(f"bench-therapist-{tag}@bench.invalid")
        guardian = User.objects.create_user(f"bench-guardian-{tag}@bench.invalid")
        Membership.objects.create(user=therapist, clinic=clinic, role=Role.THERAPIST)
        Membership.objects.create(user=guardian, clinic=clinic, role=Role.GUARDIAN)
        child = Child.objects.create(
            clinic=clinic, given_name="Bench", date_of_birth=timezone.localdate().replace(year=2018)
        )
        child.therapists.add(therapist)
        child.guardians.add(guardian)
        for purpose in ("recording", "analysis"):
            text = ConsentText.objects.create(
                clinic=clinic, purpose=purpose, version=1, body="Benchmark"
            )
            ConsentRecord.objects.create(
                child=child,
                purpose=purpose,
                text=text,
                given_by="Benchmark",
                recorded_at=timezone.now(),
            )
        session = TherapySession.objects.create(
            child=child, therapist=therapist, date=timezone.localdate(), title="Benchmark"
        )
        version = EmotionModelVersion(
            clinic=clinic, location=location, status=ModelStatus.ACTIVE, activated_at=timezone.now()
        )
        manifest = read_manifest(model_dir(version))
        checksum, size = directory_checksum(model_dir(version))
        version.name, version.version = manifest.name[:100], f"bench-{tag}"
        version.source, version.kind = "imported", manifest.kind
        version.labels, version.label_map = manifest.labels, manifest.label_map
        version.checksum, version.size_bytes = checksum, size
        version.save()
        exercise = Exercise.objects.filter(clinic=clinic).first() or Exercise.objects.create(
            clinic=clinic, title="Happy hello", phrase="Hi!", target_emotion="happy"
        )
        assignment = Assignment.objects.create(
            child=child, exercise=exercise, starts_on=timezone.localdate()
        )
        return {
            "clinic": clinic,
            "therapist": therapist,
            "guardian": guardian,
            "child": child,
            "session": session,
            "assignment": assignment,
            "version": version,
        }

    def _teardown(self, data: dict[str, Any]) -> None:
        from sessions.exercises.models import Exercise
        from sessions.exercises.services import delete_child_attempts

        child = data["child"]
        delete_child_attempts(child=child)
        for recording in data["session"].recordings.all():
            recording.file.delete(save=False)
        child.delete()  # sessions, recordings, runs, assignments, consents
        Exercise.objects.filter(clinic=data["clinic"]).delete()
        data["clinic"].delete()  # model versions, memberships, consent texts
        data["therapist"].delete()
        data["guardian"].delete()

    # --- run ------------------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
        workers: list[Worker] = []
        data: dict[str, Any] | None = None
        model_copy: Path | None = None
        try:
            location, model_copy = self._model_dir(options["model"], scratch)
            data = self._setup(location)
            if options["workers"] == "start":
                self._start_workers(options, workers)
            results = self._measure(data, scratch, options)
            self._report(results, options)
        finally:
            for worker in workers:
                worker.stop()
            if data is not None and not options["keep"]:
                self._teardown(data)
            if model_copy is not None and not options["keep"]:
                shutil.rmtree(model_copy, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)

    def _start_workers(self, options: dict[str, Any], workers: list[Worker]) -> None:
        """Start a long-queue and a short-queue worker into ``workers`` (stopped by the caller)."""
        prefix = f"bench-{uuid.uuid4().hex[:6]}."
        for name in ("DEFAULT", "LONG", "SHORT"):
            setattr(settings, f"SER_QUEUE_{name}", prefix + name.lower())
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                     "ser_portal.settings.demo"),
            "SER_QUEUE_PREFIX": prefix,
            "DATABASE_URL": _database_url(),
            "TEST_DATABASE_URL": _database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SER_MODELS_DIR": str(settings.SER_MODELS_DIR),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "TEST_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
        }  # fmt: skip
        tag = uuid.uuid4().hex[:6]
        workers.append(
            Worker(f"bench-long-{tag}", settings.SER_QUEUE_LONG, env, nice=options["long_nice"])
        )
        workers.append(Worker(f"bench-short-{tag}", settings.SER_QUEUE_SHORT, env))
        for worker in workers:
            if not worker.wait_ready(180):
                raise CommandError("A worker did not start:\n" + "\n".join(worker.lines[-30:]))
        # The short worker warms up (loads the model) on start; wait for it, as a deployment's
        # long-running worker would have long finished doing so.
        deadline = time.monotonic() + 300
        while not any("warmed" in line for line in workers[1].lines):
            if time.monotonic() > deadline:
                raise CommandError(
                    "The short worker did not warm up:\n" + "\n".join(workers[1].lines[-30:])
                )
            time.sleep(0.2)

    def _measure(
        self, data: dict[str, Any], scratch: Path, options: dict[str, Any]
    ) -> dict[str, Any]:
        from analysis.models import AnalysisRun, RunStatus
        from analysis.services import recording_create
        from sessions.exercises.models import Attempt
        from sessions.exercises.services import attempt_create

        minutes = options["session_minutes"]
        self.stdout.write(f"Writing a {minutes:g}-minute session recording…")
        session_path = write_session_flac(scratch / "session.flac", minutes)
        with session_path.open("rb") as handle:
            recording = recording_create(
                session=data["session"], uploaded_file=File(handle), uploaded_by=data["therapist"]
            )
        run = AnalysisRun.objects.get(recording=recording)
        deadline = time.monotonic() + 120
        while AnalysisRun.objects.get(pk=run.pk).status != RunStatus.PROCESSING:
            if time.monotonic() > deadline:
                raise CommandError(
                    "The session analysis did not start: is a worker consuming "
                    f"the {settings.SER_QUEUE_LONG!r} queue?"
                )
            time.sleep(0.2)
        self.stdout.write("Session analysis running; sending practice attempts…")
        time.sleep(3.0)  # let the long analysis get into its stride

        clips = [
            _write_attempt_webm(
                scratch / f"attempt{i}.webm", options["attempt_seconds"], seed=100 + i
            )
            for i in range(options["attempts"])
        ]
        rows = []
        for i, clip in enumerate(clips):
            with clip.open("rb") as handle:
                upload = File(handle, name="attempt.webm")
                upload.content_type = "audio/webm"  # type: ignore[attr-defined]
                uploaded_at = timezone.now()
                attempt, _ = attempt_create(
                    assignment=data["assignment"],
                    uploaded_file=upload,
                    uploaded_by=data["guardian"],
                )
            accepted_s = (timezone.now() - uploaded_at).total_seconds()
            deadline = time.monotonic() + 120
            while True:
                attempt = Attempt.objects.get(pk=attempt.pk)
                if attempt.is_final or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            run_status = AnalysisRun.objects.get(pk=run.pk).status
            latency = (
                (attempt.finished_at - uploaded_at).total_seconds()
                if attempt.finished_at
                else float("nan")
            )
            rows.append({
                "attempt": i + 1, "status": attempt.status, "latency_s": round(latency, 3),
                "accepted_s": round(accepted_s, 3), "timings": attempt.timings,
                "session_still_running": run_status == RunStatus.PROCESSING,
            })  # fmt: skip
            self.stdout.write(
                f"  attempt {i + 1}: {attempt.status}, feedback stored {latency:.2f} s after "
                f"upload (accepted in {accepted_s:.2f} s; worker: "
                f"{json.dumps(attempt.timings)}); session analysis still running: "
                f"{run_status == RunStatus.PROCESSING}"
            )
            time.sleep(options["pause"])
        final_run = AnalysisRun.objects.get(pk=run.pk)
        return {
            "session_minutes": minutes, "attempt_seconds": options["attempt_seconds"],
            "model": data["version"].name, "cpu_count": os.cpu_count(),
            "long_nice": options["long_nice"], "rows": rows,
            "session_progress_at_end": final_run.progress, "session_stage": final_run.stage,
        }  # fmt: skip

    def _report(self, results: dict[str, Any], options: dict[str, Any]) -> None:
        rows = results["rows"]
        latencies = [r["latency_s"] for r in rows if r["status"] == "done"]
        if not latencies:
            raise CommandError("No attempt got feedback: " + json.dumps(rows))
        warm = latencies[1:] or latencies
        summary = {
            "first_s": latencies[0],
            "warm_median_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3),
            "all_during_session": all(r["session_still_running"] for r in rows),
        }
        results["summary"] = summary
        self.stdout.write(self.style.SUCCESS(
            f"Feedback latency (upload finished -> feedback stored) for a "
            f"{results['attempt_seconds']:g} s attempt while a {results['session_minutes']:g}-"
            f"minute session was analysed, {results['cpu_count']} CPUs, model "
            f"{results['model']}: first attempt {summary['first_s']:.2f} s; then median "
            f"{summary['warm_median_s']:.2f} s, max {summary['warm_max_s']:.2f} s. The browser "
            "shows it at its next poll (+ up to 0.4 s). Session analysis running throughout: "
            f"{summary['all_during_session']}."
        ))  # fmt: skip
        if options["json_out"]:
            Path(options["json_out"]).write_text(json.dumps(results, indent=2, default=str))
