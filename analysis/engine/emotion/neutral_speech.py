"""Does the model leave plain read speech alone? A check on speech it never trained on.

A therapy session is mostly ordinary talk; a model that hears emotion in every plain sentence
fills timelines and reports with noise. This check synthesises plain read sentences with
espeak-ng (several voices, pitches and speeds: flat, emotionless speech by construction), puts
each through every headline recording condition, classifies it as ``classify_clips`` does
(the whole clip as one window) and reports the share called neutral or calm per condition.

espeak-ng is flatter than any person, so the robustness benchmark also reports, per
condition, the share of held-out actors' *neutral and calm* clips called neutral or calm
(``neutral_or_calm`` in ``analysis.engine.training.robustness``). The two together answer the
question.

    python -m analysis.engine.emotion.neutral_speech --model analysis/shipped/ser-default-v2
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.conditions import BENCHMARK_CONDITIONS
from analysis.engine.labels import LABEL_INDEX

SAMPLE_RATE = 16000
SENTENCES = (
    "The bus comes at nine o'clock every morning.",
    "Please put the red book on the second shelf.",
    "We walked to the shop and bought some bread.",
    "My sister has a small garden behind the house.",
    "The library closes early on Saturdays.",
    "Turn left at the corner and then go straight on.",
    "There are twelve chairs in the classroom.",
    "He usually drinks a glass of water after lunch.",
)
VOICES = (("en-us", 40, 150), ("en-gb", 55, 170), ("en-us+f3", 60, 160), ("en-gb-x-rp", 45, 140))


def espeak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """espeak-ng's speech for ``text`` at 16 kHz (it writes 22.05 kHz WAV to stdout)."""
    import soundfile as sf
    import soxr

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng).")
    raw = subprocess.run(
        [exe, "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    audio, rate = sf.read(io.BytesIO(raw), dtype="float32")
    audio = np.pad(audio, (int(0.3 * rate), int(0.3 * rate)))
    return soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)


def neutral_share(
    classifier: Any, clips: Sequence[np.ndarray], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Per headline condition: the share of ``clips`` whose top label is neutral or calm."""
    calm = {LABEL_INDEX["neutral"], LABEL_INDEX["calm"]}
    rows = []
    for condition in (c for c in BENCHMARK_CONDITIONS if c.headline):
        perturbed = []
        for i, clip in enumerate(clips):
            rng = np.random.default_rng([seed, 30_000, i])
            talkers = [clips[(i + k) % len(clips)] for k in range(1, 5)]
            perturbed.append(condition.apply(clip, rng, talkers))
        top = np.asarray(classifier.predict_proba(perturbed)).argmax(axis=1)
        rows.append(
            {
                "condition": condition.name,
                "n": len(clips),
                "neutral_or_calm": float(np.mean([int(t) in calm for t in top])),
            }
        )
    return rows


def read_speech() -> list[np.ndarray]:
    return [espeak(text, *voice) for text in SENTENCES for voice in VOICES]


def main(argv: Sequence[str] | None = None) -> None:
    from analysis.engine.classifiers import load_classifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(__file__).resolve().parent / "shipped" / "ser-default-v2",
    )
    args = parser.parse_args(argv)
    classifier = load_classifier(args.model)
    clips = read_speech()
    print("| condition | read sentences called neutral or calm |\n|---|---|")
    for row in neutral_share(classifier, clips):
        print(f"| {row['condition']} | {row['neutral_or_calm']:.2f} (n={row['n']}) |")


if __name__ == "__main__":
    main()
