"""The bad-audio corpus through the real upload API and a real worker.

Every file of ``audio_factory.CORPUS`` (empty, truncated, renamed, huge headers, random bytes,
zero-length MP4/WebM streams, 3 h of silence, clipped square waves, 8 channels at 192 kHz, ...)
must end in a 4xx with a readable message or in a completed analysis: no 5xx, no failed or
crashed analysis, and no recording left queued or processing. The counts are printed.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from analysis.models import AnalysisRun
from sessions.models import Recording
from tests.analysis.audio_factory import CORPUS, write_corpus
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent

pytestmark = [pytest.mark.slow]

# Files a clinic might send that are fine audio, only unusual: these must be analysed.
MUST_ANALYSE = {
    "mp3_named.wav",
    "ogg_named.m4a",
    "flac_named.txt",
    "huge_list_chunk.wav",
    "huge_id3_tag.mp3",
    "silence_3h.wav",
    "square_full_scale.wav",
    "clipped_speech.wav",
    "nan_inf_float.wav",
    "8ch_192khz.wav",
}
UNFINISHED = {"queued", "processing"}


def _readable(detail: Any) -> bool:
    return (
        isinstance(detail, str)
        and len(detail) > 10
        and "Traceback" not in detail
        and "Error(" not in detail
    )


def test_every_corpus_file_is_refused_readably_or_analysed(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    grant_consent(cast.child)
    api.force_authenticate(cast.therapist)
    url = reverse("api-session-recordings", kwargs={"session_id": cast.session.pk})
    outcome: dict[str, str] = {}
    accepted: dict[str, str] = {}
    for name, path in write_corpus(tmp_path / "corpus").items():
        with path.open("rb") as handle:
            response = api.post(url, {"file": handle}, format="multipart")
        if response.status_code == 201:
            accepted[name] = response.json()["id"]
        elif 400 <= response.status_code < 500 and _readable(response.json().get("detail")):
            outcome[name] = f"refused {response.status_code}: {response.json()['detail']}"
        else:
            outcome[name] = f"CRASH {response.status_code}: {response.content[:200]!r}"

    def finished() -> bool:
        return not Recording.objects.filter(pk__in=accepted.values(), status__in=UNFINISHED)

    with contextlib.suppress(AssertionError):  # what is still unfinished is counted as stuck
        wait_for(finished, timeout=300, interval=1.0)
    for name, recording_id in accepted.items():
        detail = api.get(reverse("api-recording-detail", kwargs={"recording_id": recording_id}))
        body = detail.json()
        runs = list(AnalysisRun.objects.filter(recording_id=recording_id).values_list("status"))
        if body["status"] == "done" and runs == [("done",)]:
            outcome[name] = f"analysed ({body['duration_s']:.0f} s)"
        elif body["status"] in UNFINISHED:
            outcome[name] = f"STUCK {body['status']}"
        else:
            outcome[name] = f"FAILED {body['status']}: {body['error']}"

    counts = Counter(text.split(" ")[0] for text in outcome.values())
    print(f"\nbad-audio corpus: {len(outcome)} files, {dict(counts)}")
    for name in CORPUS:
        print(f"  {name:26} {outcome[name]}")

    assert set(outcome) == set(CORPUS)
    assert counts["CRASH"] == 0 and counts["STUCK"] == 0 and counts["FAILED"] == 0, (
        outcome,
        celery_worker.lines[-40:],
    )
    assert {name for name, text in outcome.items() if text.startswith("analysed")} == MUST_ANALYSE
    assert counts["refused"] == len(CORPUS) - len(MUST_ANALYSE)
