"""The bad-audio corpus through the real upload APIs (plain and resumable) and a real worker.

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
from tests.factories import post_recording

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


def _multipart(api: Any, cast: Cast, path: Path) -> Any:
    """The plain upload: one multipart request."""
    return post_recording(api, cast.session, path)


def _resumable(api: Any, cast: Cast, path: Path) -> Any:
    """The browser's resumable upload: create, 1 MiB chunks, complete. Returns the first
    refusal, or the completion (whose ``recording`` names the new recording)."""
    data = path.read_bytes()
    created = api.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": path.name, "size": len(data), "content_type": "application/octet-stream"},
        format="json",
    )
    if created.status_code != 201:
        return created
    upload_id = created.json()["id"]
    for offset in range(0, len(data), 1 << 20):
        put = api.put(
            reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload_id}),
            data[offset : offset + (1 << 20)],
            content_type="application/octet-stream",
            headers={"Upload-Offset": str(offset)},
        )
        if put.status_code != 200:
            return put
    return api.post(reverse("api-workspace-upload-complete", kwargs={"upload_id": upload_id}))


@pytest.mark.parametrize("route", ["multipart", "resumable"])
def test_every_corpus_file_is_refused_readably_or_analysed(
    route: str,
    api: Any,
    cast: Cast,
    tmp_path: Path,
    active_model: Any,
    celery_worker: WorkerProcess,
) -> None:
    grant_consent(cast.child)
    api.force_login(cast.therapist)
    send = {"multipart": _multipart, "resumable": _resumable}[route]
    # The resumable upload accepts audio and video extensions only: a FLAC named .txt is
    # refused there before any byte is sent, with the list of accepted formats.
    must_analyse = MUST_ANALYSE - ({"flac_named.txt"} if route == "resumable" else set())
    outcome: dict[str, str] = {}
    accepted: dict[str, str] = {}
    for name, path in write_corpus(tmp_path / "corpus").items():
        response = send(api, cast, path)
        if response.status_code == 201:
            body = response.json()
            accepted[name] = body.get("recording") or body["id"]
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
    print(f"\nbad-audio corpus, {route} upload: {len(outcome)} files, {dict(counts)}")
    for name in CORPUS:
        print(f"  {name:26} {outcome[name]}")

    assert set(outcome) == set(CORPUS)
    assert counts["CRASH"] == 0 and counts["STUCK"] == 0 and counts["FAILED"] == 0, (
        outcome,
        celery_worker.lines[-40:],
    )
    assert {name for name, text in outcome.items() if text.startswith("analysed")} == must_analyse
    assert counts["refused"] == len(CORPUS) - len(must_analyse)
