"""5-fold actor CV of end-to-end neural models trained from scratch, under a time budget.

    nice -n 10 .venv/bin/python -m analysis.engine.benchmarks.experiments.neural_cv --model cnn \
        --data /work/shared/data/ravdess --fold-seconds 90
    nice -n 10 .venv/bin/python -m analysis.engine.benchmarks.experiments.neural_cv --model w2v2 \
        --data /work/shared/data/ravdess --fold-seconds 160

No pretrained weights are available offline, so both start from random initialisation. Each
fold trains for --fold-seconds of wall time (stopping mid-epoch if need be; 2 s random crops,
batch 16, one torch thread), then scores the 4 unseen actors on whole silence-trimmed clips.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.engine.training.datasets import group_kfold, label_indices, scan_ravdess
from analysis.engine.training.evaluation import metrics_from_probabilities, summarise_folds

SR = 16000
CROP_SECONDS = 2.0


def load_audio(data: Path) -> tuple[list[Any], list[np.ndarray], np.ndarray]:
    import librosa

    clips = scan_ravdess(data)
    audios = []
    for clip in clips:
        audio = clip.load()
        trimmed, _ = librosa.effects.trim(audio, top_db=35)
        audios.append(trimmed if trimmed.size > SR // 2 else audio)
    return clips, audios, label_indices(clips)


# --- log-mel CNN ---------------------------------------------------------------------------


def log_mel(audio: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=audio, sr=SR, n_fft=640, hop_length=320, n_mels=40, fmax=8000
    )
    return librosa.power_to_db(mel, top_db=80.0).astype(np.float32)  # (64, frames)


class MelCNN(torch.nn.Module):
    def __init__(self, n_classes: int = 8) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        channels = [1, 8, 16, 32, 32]
        for c_in, c_out in itertools.pairwise(channels):
            layers += [
                torch.nn.Conv2d(c_in, c_out, 3, padding=1),
                torch.nn.BatchNorm2d(c_out),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
            ]
        self.body = torch.nn.Sequential(*layers)
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(64, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (b, 1, mels, frames)
        h = self.body(x).mean(dim=2)  # over frequency
        return self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))


def crop(x: np.ndarray, length: int, rng: np.random.Generator, axis: int = -1) -> np.ndarray:
    n = x.shape[axis]
    if n >= length:
        start = int(rng.integers(0, n - length + 1))
        return np.take(x, range(start, start + length), axis=axis)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, length - n)
    return np.pad(x, pad)


def spec_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    x = x.clone()
    for i in range(x.shape[0]):
        f0 = int(torch.randint(0, x.shape[2] - 6, (1,), generator=gen))
        x[i, :, f0 : f0 + int(torch.randint(0, 7, (1,), generator=gen))] = 0
        t0 = int(torch.randint(0, x.shape[3] - 15, (1,), generator=gen))
        x[i, :, :, t0 : t0 + int(torch.randint(0, 16, (1,), generator=gen))] = 0
    return x


# --- tiny wav2vec2 ---------------------------------------------------------------------------


def tiny_w2v2() -> torch.nn.Module:
    from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification

    config = Wav2Vec2Config(
        conv_dim=(32, 32, 32, 32, 32, 32, 32),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        num_conv_pos_embeddings=32,
        num_conv_pos_embedding_groups=4,
        hidden_dropout=0.1,
        activation_dropout=0.0,
        attention_dropout=0.1,
        feat_proj_dropout=0.1,
        layerdrop=0.0,
        mask_time_prob=0.05,
        mask_time_length=5,
        classifier_proj_size=64,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )
    config.num_labels = 8
    return Wav2Vec2ForSequenceClassification(config)


# --- loop ----------------------------------------------------------------------------------


def run(model_kind: str, data: Path, fold_seconds: float, seed: int, folds: int) -> dict[str, Any]:
    torch.set_num_threads(1)  # faster than 2 on the busy shared cores
    clips, audios, y = load_audio(data)
    if model_kind == "cnn":
        inputs = [log_mel(a) for a in audios]
        stack = np.concatenate([m for m in inputs], axis=1)
        mu, sd = float(stack.mean()), float(stack.std())
        inputs = [(m - mu) / sd for m in inputs]
        crop_len = int(CROP_SECONDS * 50)  # 20 ms hop
    else:
        inputs = [(a - a.mean()) / (a.std() + 1e-7) for a in audios]
        crop_len = int(CROP_SECONDS * SR)
    per_fold = []
    for fold, (train_idx, test_idx) in enumerate(group_kfold(clips, folds, seed)):
        torch.manual_seed(seed + fold)
        gen = torch.Generator().manual_seed(seed + fold)
        rng = np.random.default_rng([seed, fold])
        model = MelCNN() if model_kind == "cnn" else tiny_w2v2()
        lr = 1e-3 if model_kind == "cnn" else 5e-4
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
        counts = np.bincount(y[train_idx], minlength=8)
        loss_fn = torch.nn.CrossEntropyLoss(
            weight=torch.tensor(len(train_idx) / (8 * counts), dtype=torch.float32)
        )
        start, steps, out_of_time = time.time(), 0, False
        model.train()
        while not out_of_time:
            order = rng.permutation(train_idx)
            for b in range(0, len(order), 16):
                if time.time() - start > fold_seconds:
                    out_of_time = True
                    break
                idx = order[b : b + 16]
                batch = torch.tensor(np.stack([crop(inputs[i], crop_len, rng) for i in idx]))
                if model_kind == "cnn":
                    batch = spec_augment(batch[:, None], gen)
                    logits = model(batch)
                else:
                    logits = model(batch).logits
                opt.zero_grad()
                loss_fn(logits, torch.tensor(y[idx])).backward()
                opt.step()
                steps += 1
        epochs = round(steps * 16 / len(train_idx), 2)
        model.eval()
        probs = []
        with torch.inference_mode():
            for i in test_idx:
                x = torch.tensor(inputs[i])[None]
                logits = model(x[:, None]) if model_kind == "cnn" else model(x).logits
                probs.append(torch.softmax(logits, dim=1)[0].numpy())
        result = metrics_from_probabilities(y[test_idx], np.stack(probs))
        result["epochs"] = epochs
        result["train_seconds"] = time.time() - start
        per_fold.append(result)
        print(
            f"fold {fold}: {epochs} epochs in {time.time() - start:.0f} s, "
            f"UA {100 * result['eight_class']['ua']:.1f} "
            f"WA {100 * result['eight_class']['wa']:.1f}",
            flush=True,
        )
    summary = summarise_folds(per_fold)
    e = summary["eight_class"]
    print(
        f"{model_kind}: UA {100 * e['ua_mean']:.1f}±{100 * e['ua_std']:.1f} "
        f"WA {100 * e['wa_mean']:.1f}",
        flush=True,
    )
    return {"mean": summary, "epochs": [r["epochs"] for r in per_fold]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["cnn", "w2v2"], required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--fold-seconds", type=float, default=120.0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ser_results")
    args = parser.parse_args()
    started = time.time()
    result = run(args.model, args.data, args.fold_seconds, args.seed, args.folds)
    result["wall_seconds"] = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.model}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
