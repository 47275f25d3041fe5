"""``python -m analysis.engine.benchmarks WHAT``: the one entry point ``make bench`` runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.engine.benchmarks.__main__ import BENCHMARKS, main

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("what", sorted(BENCHMARKS))
def test_each_sub_command_hands_its_arguments_to_its_benchmark(
    what: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["benchmarks"])  # main() renames the program
    with pytest.raises(SystemExit) as exited:
        main([what, "--help"])
    assert exited.value.code == 0
    usage = capsys.readouterr().out
    # The benchmark's own parser answered (its options), under this command's name.
    assert usage.startswith(f"usage: python -m analysis.engine.benchmarks {what} ")
    assert "--data" in usage or "--minutes" in usage or "--items" in usage


def test_an_unknown_benchmark_is_refused_with_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["latency"])
    assert exited.value.code == 2
    assert "invalid choice: 'latency'" in capsys.readouterr().err


def test_the_makefile_offers_every_benchmark_and_keeps_the_old_names() -> None:
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^BENCHMARKS := (.+)$", makefile, re.MULTILINE)
    assert listed is not None
    assert set(listed.group(1).split()) == {*BENCHMARKS, "feedback"}
    for name in BENCHMARKS:
        assert re.search(rf"^BENCH_ARGS_{name} =", makefile, re.MULTILINE), name
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "eval-sessions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"python -m analysis\.engine\.benchmarks \\\n\s+sessions --data ", dry), dry
