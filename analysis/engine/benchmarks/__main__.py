"""One entry point for the engine's benchmarks: ``python -m analysis.engine.benchmarks WHAT ...``.

``WHAT`` names the benchmark; every argument after it goes to that benchmark unchanged
(``python -m analysis.engine.benchmarks sessions --help`` lists its own). ``make bench`` runs
this with each benchmark's usual arguments (``make bench WHAT=sessions``). The practice-feedback
latency benchmark needs the portal (database, workers), so it is ``manage.py bench_feedback``
(``make bench WHAT=feedback``), not a sub-command here: the engine imports no Django.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

# name -> (module with main(argv), what it measures). Imported only when chosen: the
# benchmarks load torch and the models.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "throughput": (
        "analysis.engine.benchmarks.throughput",
        "real-time factor and memory of the pipeline against a naive baseline; precisions",
    ),
    "segmentation": (
        "analysis.engine.benchmarks.synthetic",
        "speech detection and speaker turns on synthetic conversations of RAVDESS clips",
    ),
    "robustness": (
        "analysis.engine.training.robustness",
        "emotion accuracy per recording condition by actor cross-validation (slow)",
    ),
    "sessions": (
        "analysis.engine.benchmarks.sessions",
        "per-segment emotion accuracy of whole conversations in simulated rooms",
    ),
    "speakers": (
        "analysis.engine.benchmarks.diarization",
        "speaker count, DER/JER and roles of 2-4 speaker conversations",
    ),
    "agreement": (
        "analysis.engine.benchmarks.agreement",
        "clinic validation on cached (constructed) features: evaluate 5,000, adapt on 2,000",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.engine.benchmarks",
        description=__doc__.split("\n")[0] if __doc__ else None,
        epilog="\n".join(f"  {name:<13} {about}" for name, (_, about) in BENCHMARKS.items())
        + "\n\nmanage.py bench_feedback: practice feedback while a session is analysed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", choices=sorted(BENCHMARKS), help="the benchmark to run")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="the benchmark's own arguments (WHAT --help)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parsed = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    module_name, _ = BENCHMARKS[parsed.what]
    # The benchmark's own usage line then names this command, not "__main__.py".
    sys.argv[0] = f"python -m analysis.engine.benchmarks {parsed.what}"
    import_module(module_name).main(parsed.args)


if __name__ == "__main__":
    main()
