"""A starting analysis worker logs the CPU features the precision choice sees, with any
instruction-set cap (the AVX2-only emulation of issue 17), and what it chooses from."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from analysis import tasks
from analysis.engine.classifiers import precision


@pytest.mark.parametrize("setting", ["auto", "bf16"])
def test_worker_start_logs_the_capped_cpu_and_the_candidates(
    setting: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for var in precision.ISA_CAP_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in precision.AVX2_EMULATION.items():
        monkeypatch.setenv(var, value)
    with (
        override_settings(SER_HF_INFERENCE_DTYPE=setting),
        caplog.at_level(logging.INFO, logger="analysis.tasks"),
    ):
        tasks.worker_process_init.send(sender=None)
    [record] = [r for r in caplog.records if r.name == "analysis.tasks"]
    message = record.getMessage()
    assert message.startswith("analysis worker: CPU ")
    assert "capped at AVX2 by ONEDNN_MAX_CPU_ISA=AVX2" in message
    candidates = message.split("precision candidates ")[1].split(";")[0]
    assert "bf16" not in candidates.split(", ")
    if setting == "auto":
        assert "auto: the fastest of" in message
    else:
        assert "no native bf16 here: emulated" in message
