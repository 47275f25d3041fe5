from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.engine.training.datasets import (
    LabelledClip,
    clips_from_arrays,
    group_holdout,
    group_kfold,
    label_indices,
    scan_ravdess,
)


def _write_ravdess(root: Path, actors: list[int], emotions: list[int]) -> None:
    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for emotion in emotions:
            name = f"03-01-{emotion:02d}-01-01-01-{actor:02d}.flac"
            sf.write(folder / name, np.zeros(1600, dtype=np.float32), 16000)
    (root / "README.md").write_text("not audio")


def test_scan_ravdess_reads_label_and_actor_from_names(tmp_path: Path) -> None:
    _write_ravdess(tmp_path, [2, 3], [1, 5, 8])
    clips = scan_ravdess(tmp_path)
    assert len(clips) == 6
    assert {(c.label, c.group) for c in clips if c.group == "actor03"} == {
        ("neutral", "actor03"),
        ("angry", "actor03"),
        ("surprised", "actor03"),
    }
    assert clips[0].load().shape == (1600,)


def test_scan_ravdess_fails_clearly_on_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        scan_ravdess(tmp_path)


def test_labelled_clip_rejects_non_canonical_label_and_needs_one_source() -> None:
    with pytest.raises(ValueError):
        LabelledClip(label="joy", group="a", audio=np.zeros(10))
    with pytest.raises(ValueError):
        LabelledClip(label="happy", group="a")


def test_array_clips_resample_on_load() -> None:
    clips = clips_from_arrays([np.ones(8000)], ["sad"], ["child1"], sample_rate=8000)
    assert clips[0].load(16000).shape[0] == 16000
    assert label_indices(clips).tolist() == [3]


def _clips(n_groups: int, per_group: int = 3) -> list[LabelledClip]:
    return clips_from_arrays(
        [np.zeros(10)] * (n_groups * per_group),
        ["happy"] * (n_groups * per_group),
        [f"spk{g}" for g in range(n_groups) for _ in range(per_group)],
    )


def test_actor_kfold_never_puts_one_actor_in_train_and_test() -> None:
    clips = _clips(20)
    seen_test: list[str] = []
    for train, test in group_kfold(clips, 5, seed=3):
        train_groups = {clips[i].group for i in train}
        test_groups = {clips[i].group for i in test}
        assert not train_groups & test_groups
        assert len(test_groups) == 4
        assert len(train) + len(test) == len(clips)
        seen_test += sorted(test_groups)
    assert sorted(seen_test) == sorted({c.group for c in clips})


def test_actor_kfold_is_deterministic_from_seed() -> None:
    clips = _clips(10)
    first = [t.tolist() for _, t in group_kfold(clips, 5, seed=1)]
    again = [t.tolist() for _, t in group_kfold(clips, 5, seed=1)]
    other = [t.tolist() for _, t in group_kfold(clips, 5, seed=2)]
    assert first == again
    assert first != other


def test_group_holdout_keeps_speakers_apart() -> None:
    clips = _clips(6)
    train, held = group_holdout(clips, 0.3, seed=0)
    assert not {clips[i].group for i in train} & {clips[i].group for i in held}
    assert len({clips[i].group for i in held}) == 2
