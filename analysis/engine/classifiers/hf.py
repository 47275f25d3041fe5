"""Hugging Face audio-classification checkpoints (wav2vec2, HuBERT, WavLM, data2vec, ...).

Anything ``AutoModelForAudioClassification.from_pretrained`` can load works through
``predict_proba`` (one forward pass per window, equal-length windows batched together).

The pipeline's hot path is ``predict_windows``. Emotion windows are 3 s long at a 1 s hop, so
running the model per window encodes every second of speech three times. Instead the stretch
is encoded once and each window is pooled from the frame states exactly as the model's own
head does it (``*ForSequenceClassification``: optional softmax-weighted sum of all layers'
hidden states -> ``projector`` -> mean over the window's frames -> ``classifier``; the
projector is linear, so pooling before projecting is the same maths with fewer multiplies).

What the shared encoding changes. Per-window inference sees only the window; shared encoding
lets each frame attend to up to ``chunk_s`` of context (and the first conv layer's group norm
and the input normalisation use chunk statistics). That is an approximation, traded for a
third of the encoder work at a 3 s window / 1 s hop. The head itself is reproduced exactly:
with one window spanning the whole stretch both paths agree to float rounding
(tests/analysis/engine/test_hf_classifier.py checks < 1e-5). With overlapping windows in a longer
stretch the answers differ by the context effect, measured in that test for tiny models and
by ``python -m analysis.engine.benchmarks.throughput`` (with ``--model DIR`` for a real checkpoint
it prints the
largest probability difference and how often the top label agrees). ``context="window"``
gives exact per-window answers where that matters more than speed.

Long stretches are encoded in chunks. Attention cost grows with the square of the frames
encoded together, so a stretch longer than ``chunk_s`` is cut into passes of at most
``chunk_s`` that each keep only their centre ``chunk_s - 2 * context_s`` of frames and give
``context_s`` on each side to the frames they keep as context (the first and last passes have
context on their inner side only); cost then stays linear in the stretch length and memory
bounded. The stretch is normalised once, before it is cut, as for whole-stretch encoding.
Against encoding each stretch whole (``chunk_s=None``) the defaults (20 s passes keeping their
centre 15 s, 2.5 s of context on each side) were measured on the random base-size wav2vec2 of
``analysis.engine.benchmarks.throughput`` and on tiny models
(tests/analysis/engine/test_hf_classifier.py); the figures are
in that test's docstring and printed by the bench.

Precision. ``dtype="auto"`` (the portal's default through ``SER_HF_INFERENCE_DTYPE``) picks
fp32, int8 or bf16, or ONNX Runtime's ort-fp32 or ort-int8 for the encoder
(``analysis.engine.classifiers.ort_encoder``: same chunks, tiles, batches and head), from the
CPU's flags and a short timed probe when the model is loaded:
``analysis.engine.classifiers.precision``.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.engine.classifiers import ort_encoder, precision
from analysis.engine.classifiers.base import ModelFormatError, ModelManifest
from analysis.engine.labels import to_canonical
from analysis.engine.speech.segmentation import torch_threads

logger = logging.getLogger(__name__)

DTYPES = ("fp32", "bf16", "int8")  # torch precisions
# What ``dtype`` may be: a torch precision, an ONNX Runtime one, or a timed choice among the
# candidates of this CPU (``auto``: torch and ONNX Runtime; ``auto-torch``: torch only).
SETTINGS = (*DTYPES, *ort_encoder.ORT_DTYPES, "auto", "auto-torch")
_MIN_SAMPLES = 400  # one frame of a wav2vec2-style conv stack
_MAX_CHUNK_FRAMES = 1500  # 30 s of wav2vec2 frames
_MAX_BATCH = 16  # transformer passes of short stretches sharing one batch
_CONV_TILE_FRAMES = 500  # conv stack output frames per tile (10 s for wav2vec2)
CHUNK_S = 20.0
CONTEXT_S = 2.5
# The precision chosen for a model shape with a given thread count, once per process.
_chosen: dict[str, precision.Choice] = {}


class HFAudioClassifier:
    """A loaded checkpoint plus its manifest. Probabilities are over CANONICAL_LABELS."""

    def __init__(
        self,
        model: Any,
        manifest: ModelManifest,
        *,
        do_normalize: bool = True,
        feature_extractor: Any = None,
        dtype: str = "fp32",
        threads: int | None = None,
        chunk_s: float | None = CHUNK_S,
        context_s: float = CONTEXT_S,
        batch_size: int = 8,
    ) -> None:
        self.model = model
        self.manifest = manifest
        self.do_normalize = do_normalize
        self.feature_extractor = feature_extractor
        self.dtype = dtype
        self.threads = threads
        self.chunk_s = chunk_s
        self.context_s = context_s
        self.batch_size = batch_size
        self.precision_choice: precision.Choice | None = None
        self._ort: ort_encoder.OrtEncoder | None = None  # set for the ort-* precisions
        config = model.config
        self.labels = list(manifest.labels)
        if len(self.labels) != int(config.num_labels):
            raise ModelFormatError(
                f"The manifest lists {len(self.labels)} labels but the model has "
                f"{config.num_labels} outputs."
            )
        self._encoder: Any = getattr(model, getattr(model, "base_model_prefix", ""), None)
        self._pools_frames = (
            self._encoder is not None
            and hasattr(model, "projector")
            and hasattr(model, "classifier")
            and hasattr(model, "_get_feat_extract_output_lengths")
            and feature_extractor is None
        )
        self._weighted = bool(getattr(config, "use_weighted_layer_sum", False))
        # wav2vec2, HuBERT, WavLM, data2vec-audio: conv features -> projection -> transformer,
        # which lets the transformer alone run in chunks. An adapter after it would not.
        self._splits = (
            all(
                hasattr(self._encoder, part)
                for part in ("feature_extractor", "feature_projection", "encoder")
            )
            and hasattr(getattr(self._encoder, "encoder", None), "layers")
            and not getattr(config, "add_adapter", False)
        )
        # Frames advance by the product of the conv strides (320 samples = 20 ms for wav2vec2).
        self.frame_step = int(np.prod(getattr(config, "conv_stride", [320])))

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        manifest: ModelManifest,
        *,
        dtype: str = "fp32",
        threads: int | None = None,
        chunk_s: float | None = CHUNK_S,
        context_s: float = CONTEXT_S,
        batch_size: int = 8,
        onnx_cache_dir: Path | str | None = None,
        **_ignored: Any,
    ) -> HFAudioClassifier:
        """Load weights and preprocessing from ``model_dir``.

        dtype: "fp32" (reference), "bf16" (weights and activations in bfloat16; only fast on
        CPUs with native bf16, AVX512-BF16/AMX), "int8" (dynamic int8 quantisation of Linear
        layers, conv feature encoder in bf16 where the CPU has native bf16), or "auto" (the
        fastest of those this CPU supports, timed on a short probe once per process for each
        model shape; see ``analysis.engine.classifiers.precision``). threads: torch intra-op threads
        during inference (None: leave the process setting alone). chunk_s: the longest audio
        one encoder pass sees (None: each stretch whole); context_s: context on each side of
        the frames a pass keeps.

        "ort-fp32" and "ort-int8" run the encoder through ONNX Runtime
        (``analysis.engine.classifiers.ort_encoder``; exported once into ``onnx_cache_dir``,
        by default ``ort_encoder.default_cache_dir()``), with the same chunking, batching and
        head as torch; "auto" times them with the torch precisions where ONNX Runtime is
        installed and the model's encoder can be exported, "auto-torch" leaves them out. When
        ONNX Runtime cannot run the model (not installed, export or session failed) the load
        falls back to torch (int8 for ort-int8 where int8 is a candidate, else fp32) and logs
        why. The per-clip path (``predict_proba``, ``context="window"``) stays torch fp32.
        """
        from transformers import AutoConfig, AutoModelForAudioClassification
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # worker logs are not terminals

        if dtype not in SETTINGS:
            raise ValueError(f"dtype must be one of {', '.join(SETTINGS)}, not {dtype!r}")
        model_dir = Path(model_dir)
        try:
            AutoConfig.from_pretrained(model_dir)
            model = AutoModelForAudioClassification.from_pretrained(model_dir)
        except (OSError, ValueError) as exc:
            raise ModelFormatError(
                f"Cannot load a Hugging Face model from {model_dir}: {exc}"
            ) from exc
        model.eval()
        do_normalize, extractor = _preprocessing(model_dir, model.config)
        features = precision.read_cpu_features()

        cache_dir = Path(onnx_cache_dir) if onnx_cache_dir else ort_encoder.default_cache_dir()

        def build(variant: str, base: Any) -> HFAudioClassifier:
            """The classifier at ``variant``; raises OrtUnavailable for an ort-* that fails."""
            classifier = cls(
                _in_precision(base, variant if variant in DTYPES else "fp32", features),
                manifest,
                do_normalize=do_normalize,
                feature_extractor=extractor,
                dtype=variant,
                threads=threads,
                chunk_s=chunk_s,
                context_s=context_s,
                batch_size=batch_size,
            )
            if variant in ort_encoder.ORT_DTYPES:
                classifier._attach_ort(model_dir, cache_dir)
            return classifier

        def build_or_fall_back(variant: str) -> HFAudioClassifier:
            try:
                return build(variant, model)
            except ort_encoder.OrtUnavailable as exc:
                torch_int8 = "int8" in precision.candidate_dtypes(features)
                fallback = "int8" if variant == "ort-int8" and torch_int8 else "fp32"
                logger.warning(
                    "Hugging Face inference: %s cannot run here (%s); using torch %s instead",
                    variant,
                    exc,
                    fallback,
                )
                return build(fallback, model)

        if dtype not in ("auto", "auto-torch"):
            precision.warn_if_emulated(dtype, features)
            return build_or_fall_back(dtype)
        onnx = dtype == "auto" and ort_encoder.version() is not None
        names = precision.candidate_dtypes(features, onnx=onnx)
        key = json.dumps([_shape(model.config), threads or torch.get_num_threads(), names])
        choice = _chosen.get(key)
        if choice is None:
            candidates: dict[str, HFAudioClassifier] = {}
            for name in names:
                try:
                    # fp32 and ort-* keep the loaded model; int8 quantises a copy; bf16 needs its
                    # own copy.
                    candidates[name] = build(
                        name, copy.deepcopy(model) if name == "bf16" else model
                    )
                except ort_encoder.OrtUnavailable as exc:
                    logger.warning(
                        "Hugging Face inference: %s is no candidate for this model (%s)", name, exc
                    )
            choice = precision.choose(
                {d: c._probe_runner() for d, c in candidates.items()}, features
            )
            _chosen[key] = choice
            chosen = candidates[choice.dtype]
        else:
            logger.info("Hugging Face inference (chosen earlier): %s", choice.describe())
            chosen = build_or_fall_back(choice.dtype)
        chosen.precision_choice = choice
        return chosen

    def _ort_plan(self) -> bool | None:
        """Whether ONNX Runtime can run this encoder the way torch runs it: None when not,
        else whether the first conv layer has a per-channel group norm (computed outside the
        graph from the whole stretch, as ``_conv_features`` does for its tiles)."""
        if not (self._pools_frames and self._splits):
            return None
        layers = list(getattr(self._encoder.feature_extractor, "conv_layers", []))
        if not layers or any(_kernel_stride(getattr(la, "conv", None)) is None for la in layers):
            return None
        norms = [getattr(layer, "layer_norm", None) for layer in layers]
        if any(isinstance(norm, torch.nn.GroupNorm) for norm in norms[1:]):
            return None
        first = norms[0]
        if not isinstance(first, torch.nn.GroupNorm):
            return False
        if first.num_groups != first.num_channels or layers[0].conv.in_channels != 1:
            return None
        return True

    def _attach_ort(self, model_dir: Path, cache_dir: Path) -> None:
        normed = self._ort_plan()
        if normed is None:
            raise ort_encoder.OrtUnavailable(
                "its encoder is not a conv stack + transformer that runs in chunks"
            )
        self._ort = ort_encoder.load(
            self.model,
            model_dir,
            self.dtype,
            normed=normed,
            every_layer=self._weighted,
            cache_dir=cache_dir,
            threads=self.threads or torch.get_num_threads(),
        )
        logger.info("Hugging Face inference %s: %s", self.dtype, self._ort.describe())

    def _probe_runner(self) -> precision.Runner:
        def run(audio: np.ndarray) -> np.ndarray:
            return self.predict_windows_model_proba(audio, [(0, audio.size)])

        return run

    @property
    def sample_rate(self) -> int:
        return int(self.manifest.sample_rate)

    # -- per-clip path -------------------------------------------------------------------

    def predict_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """Canonical probabilities, one row per clip. Clips of equal length share a batch.

        Only equal lengths are batched: many checkpoints (wav2vec2-base and its fine-tunes)
        were trained without attention masks, so zero padding would change their answers.
        """
        return to_canonical(self.predict_model_proba(clips), self.labels, self.manifest.label_map)

    def predict_model_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities over the model's own labels, one row per clip."""
        out = np.zeros((len(clips), len(self.labels)), dtype=np.float64)
        groups: dict[int, list[int]] = defaultdict(list)
        prepared = [self._pad(np.asarray(c, dtype=np.float32).reshape(-1)) for c in clips]
        for i, clip in enumerate(prepared):
            groups[clip.size].append(i)
        with self._inference():
            for indices in groups.values():
                for b in range(0, len(indices), self.batch_size):
                    batch = indices[b : b + self.batch_size]
                    logits = self._logits([prepared[i] for i in batch])
                    out[batch] = torch.softmax(logits.float(), dim=-1).numpy()
        return out

    def _logits(self, clips: list[np.ndarray]) -> torch.Tensor:
        if self.feature_extractor is not None:
            inputs = self.feature_extractor(
                clips, sampling_rate=self.sample_rate, return_tensors="pt", padding=True
            )
            inputs = {k: self._cast(v) for k, v in inputs.items()}
            return self.model(**inputs).logits
        batch = torch.from_numpy(np.stack([self._normalize(c) for c in clips]))
        return self.model(self._cast(batch)).logits

    # -- shared-encoding path -----------------------------------------------------------

    def predict_windows(
        self,
        audio: np.ndarray,
        windows: Sequence[tuple[int, int]],
        *,
        context: str = "stretch",
    ) -> np.ndarray:
        """Canonical probabilities for (start, end) sample ranges of one speech stretch.

        context="stretch" encodes the stretch once and pools per window (fast, see module
        docstring); context="window" runs each window on its own (exact per-window answers).
        """
        return to_canonical(
            self.predict_windows_model_proba(audio, windows, context=context),
            self.labels,
            self.manifest.label_map,
        )

    def predict_windows_model_proba(
        self, audio: np.ndarray, windows: Sequence[tuple[int, int]], *, context: str = "stretch"
    ) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if context not in ("stretch", "window"):
            raise ValueError(f"context must be 'stretch' or 'window', not {context!r}")
        if not windows:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        if context == "window" or not self._pools_frames:
            return self.predict_model_proba([audio[s:e] for s, e in windows])
        return self.predict_stretches_model_proba([(audio, windows)])[0]

    def predict_stretches(
        self, stretches: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]]
    ) -> list[np.ndarray]:
        """``predict_windows`` for several stretches at once, one array per stretch.

        Each stretch is still normalised and run through the conv feature encoder on its own;
        their transformer passes share batches (padded, with an attention mask, so each frame
        attends only to its own stretch). A short stretch costs the transformer little
        compute but streams all its weights all the same (about 340 MB for a base-size model
        in fp32), which made short speech turns cost 3-4 times their length's share; batching
        pays for the weights once per batch. Answers equal one stretch at a time to float
        rounding (tests/analysis/engine/test_hf_classifier.py).
        """
        return [
            to_canonical(probs, self.labels, self.manifest.label_map)
            for probs in self.predict_stretches_model_proba(stretches)
        ]

    def predict_stretches_model_proba(
        self, stretches: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]]
    ) -> list[np.ndarray]:
        if not self._pools_frames:
            return [self.predict_windows_model_proba(a, w) for a, w in stretches]
        audios = [self._pad(np.asarray(a, dtype=np.float32).reshape(-1)) for a, _ in stretches]
        with self._inference():
            frames = self._encode_stretches(audios)
            return [
                self._head(states, windows)
                for states, (_, windows) in zip(frames, stretches, strict=True)
            ]

    def _head(self, frames: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        """The model's head on each window's mean frame state."""
        if not windows:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        cumulative = np.concatenate([np.zeros((1, frames.shape[1])), frames.cumsum(axis=0)])
        pooled = np.zeros((len(windows), frames.shape[1]), dtype=np.float64)
        total = frames.shape[0]
        for i, (start, end) in enumerate(windows):
            first = min(round(start / self.frame_step), total - 1)
            count = max(self._frames_for(max(end - start, _MIN_SAMPLES)), 1)
            last = min(first + count, total)
            pooled[i] = (cumulative[last] - cumulative[first]) / (last - first)
        hidden = self._cast(torch.from_numpy(pooled.astype(np.float32)))
        logits = self.model.classifier(self.model.projector(hidden))
        return torch.softmax(logits.float(), dim=-1).numpy().astype(np.float64)

    def _encode_stretches(self, audios: list[np.ndarray]) -> list[np.ndarray]:
        """Frame states of each stretch, (frames, hidden) float64.

        The conv feature encoder and the feature projection run over each whole stretch
        (their cost is linear in its length, and the first conv layer's group norm then sees
        the stretch's statistics exactly as whole-stretch encoding does); only the
        transformer, whose attention cost is quadratic, runs in overlapping chunks of frames
        (``_spans``), and chunks of all stretches share batches.
        """
        totals = [self._frames_for(a.size) for a in audios]
        inputs = [self._cast(torch.from_numpy(self._normalize(a))[None, :]) for a in audios]
        if not self._splits:
            return [
                self._states(self._encoder(x, output_hidden_states=self._weighted))[0][:total]
                for x, total in zip(inputs, totals, strict=True)
            ]
        hidden = []
        for x in inputs:
            if self._ort is not None:
                hidden.append(self._ort_features(x))
                continue
            projected = self._encoder.feature_projection(self._conv_features(x))
            hidden.append((projected[0] if isinstance(projected, tuple) else projected)[0])
        out = [np.zeros((h.shape[0], h.shape[1]), dtype=np.float64) for h in hidden]
        jobs = [(i, *span) for i, h in enumerate(hidden) for span in self._spans(h.shape[0])]
        jobs.sort(key=lambda job: job[2] - job[1])
        for batch in self._batches(jobs):
            states = self._transform([hidden[i][lo:hi] for i, lo, hi, _, _ in batch])
            for (i, lo, _hi, keep_from, keep_to), state in zip(batch, states, strict=True):
                out[i][keep_from:keep_to] = state[keep_from - lo : keep_to - lo]
        return [states[:total] for states, total in zip(out, totals, strict=True)]

    def _ort_features(self, x: torch.Tensor) -> torch.Tensor:
        """(frames, hidden) projected features of one normalised stretch through ONNX Runtime,
        tiled as ``_conv_features`` tiles, the first layer's norm from the whole stretch."""
        assert self._ort is not None
        layers = list(self._encoder.feature_extractor.conv_layers)
        shapes = [_kernel_stride(layer.conv) for layer in layers]
        samples = x[:, None].float()
        stats: tuple[np.ndarray, np.ndarray] | None = None
        if self._ort.normed:
            scale, shift = self._norm_scale_shift(layers[0], samples, shapes[0])  # type: ignore[arg-type]
            stats = (scale.numpy(), shift.numpy())
        total = self._frames_for(x.shape[1])
        if total <= 2 * _CONV_TILE_FRAMES:
            return torch.from_numpy(self._ort.features(samples.numpy(), stats)[0])
        tiles = [
            self._ort.features(np.ascontiguousarray(piece.numpy()), stats)[0]
            for piece in _conv_tiles(samples, shapes, total)  # type: ignore[arg-type]
        ]
        return torch.from_numpy(np.concatenate(tiles))

    def _conv_features(self, x: torch.Tensor) -> torch.Tensor:
        """(1, frames, channels) conv features of one normalised stretch.

        A long stretch goes through the conv stack in tiles of ``_CONV_TILE_FRAMES`` output
        frames: the first layer's 512 channels at a fifth of the sample rate would otherwise
        hold about 400 MB per minute of audio in fp32, more than once (conv, norm,
        activation). Measured on the base model, one 60 s stretch: peak memory +940 MB whole,
        +190 MB tiled in fp32 (bf16: +330 MB, +0), same time within this machine's noise.
        The tiles give the whole-stretch features (fp32: 3e-8 on the probabilities): each
        reads the input span its frames' receptive field covers (the convolutions have no
        padding), and the first layer's group norm, the one non-local step, uses the
        statistics of the whole stretch (``_first_layer_stats``).
        """
        extractor = self._encoder.feature_extractor
        layers = list(getattr(extractor, "conv_layers", []))
        shapes = [_kernel_stride(getattr(layer, "conv", None)) for layer in layers]
        total = self._frames_for(x.shape[1])
        later_norms = [getattr(layer, "layer_norm", None) for layer in layers[1:]]
        if (
            total <= 2 * _CONV_TILE_FRAMES
            or not layers
            or None in shapes
            or any(isinstance(norm, torch.nn.GroupNorm) for norm in later_norms)
        ):
            return extractor(x).transpose(1, 2)
        first = layers[0]
        samples = x[:, None].to(first.conv.weight.dtype)
        norm = getattr(first, "layer_norm", None)
        stats: tuple[torch.Tensor, ...] | None = None
        if isinstance(norm, torch.nn.GroupNorm):
            if norm.num_groups != norm.num_channels or first.conv.in_channels != 1:
                return extractor(x).transpose(1, 2)
            scale, shift = self._norm_scale_shift(first, samples, shapes[0])  # type: ignore[arg-type]
            stats = (scale.to(samples.dtype), shift.to(samples.dtype))
        tiles = []
        for piece in _conv_tiles(samples, shapes, total):  # type: ignore[arg-type]
            if stats is None:  # no norm, or a layer norm over channels: local, as it is
                h = first(piece)
            else:
                scale, shift = stats
                h = first.activation(torch.addcmul(shift, first.conv(piece), scale))
            for layer in layers[1:]:
                h = layer(h)
            tiles.append(h)
        return torch.cat(tiles, dim=2).to(x.dtype).transpose(1, 2)

    @classmethod
    def _norm_scale_shift(
        cls, first: Any, samples: torch.Tensor, shape: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The first layer's group norm as a float32 per-channel scale and shift of its conv
        output, from the whole stretch's statistics (``_first_layer_stats``)."""
        norm = first.layer_norm
        kernel, stride = shape
        mean, std = cls._first_layer_stats(first.conv, samples, kernel, stride, norm.eps)
        scale = norm.weight.float()[None, :, None] / std
        shift = norm.bias.float()[None, :, None] - mean * scale
        return scale, shift

    @staticmethod
    def _first_layer_stats(
        conv: Any, samples: torch.Tensor, kernel: int, stride: int, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std (GroupNorm's biased variance) of the first conv layer's
        output over the whole stretch, without computing that output: the layer is linear in
        the samples, so its mean is ``w . m + b`` and its mean square ``w' R w`` (plus bias
        terms), with ``m`` and ``R`` the mean and second moments of the kernel-wide sample
        frames, a few kernel x kernel numbers in float64."""
        frames = samples[0, 0].double().unfold(0, kernel, stride)  # (frames, kernel)
        count = frames.shape[0]
        first = frames.mean(dim=0)
        second = frames.T @ frames / count
        weight = conv.weight[:, 0, :].double()
        bias = conv.bias.double() if conv.bias is not None else torch.zeros(weight.shape[0])
        projected = weight @ first
        mean = projected + bias
        square = torch.einsum("ck,kj,cj->c", weight, second, weight)
        square = square + 2 * bias * projected + bias * bias
        var = (square - mean * mean).clamp(min=0.0)
        return mean.float()[None, :, None], (var + eps).sqrt().float()[None, :, None]

    def _spans(self, frames: int) -> list[tuple[int, int, int, int]]:
        """(lo, hi, keep_from, keep_to) frame ranges of the transformer passes of a stretch."""
        if self.chunk_s is None:
            return [(0, frames, 0, frames)]
        per_second = self.sample_rate / self.frame_step
        # Attention memory grows with frames squared: cap a chunk at _MAX_CHUNK_FRAMES whatever
        # the conv stride (a tiny test model with a 10-sample stride would otherwise ask for
        # gigabytes on a 20 s chunk).
        chunk = max(min(round(self.chunk_s * per_second), _MAX_CHUNK_FRAMES), 4)
        if frames <= chunk:
            return [(0, frames, 0, frames)]
        margin = min(round(self.context_s * per_second), chunk // 4)
        core = chunk - 2 * margin
        return [
            (
                max(start - margin, 0),
                min(start + core + margin, frames),
                start,
                min(start + core, frames),
            )
            for start in range(0, frames, core)
        ]

    def _batches(self, jobs: list[Any]) -> Iterator[list[Any]]:
        """Jobs sorted by length, grouped so a padded batch stays within one chunk's frames."""
        per_second = self.sample_rate / self.frame_step
        budget = min(round((self.chunk_s or 20.0) * per_second), _MAX_CHUNK_FRAMES)
        batch: list[Any] = []
        for job in jobs:
            longest = job[2] - job[1]  # sorted: the newest job is the longest
            if (batch and (len(batch) + 1) * longest > budget) or len(batch) == _MAX_BATCH:
                yield batch
                batch = []
            batch.append(job)
        if batch:
            yield batch

    def _transform(self, pieces: list[torch.Tensor]) -> list[np.ndarray]:
        """The transformer over projected conv features, one (frames, hidden) array per piece.

        Several pieces are padded into one batch with a frame-level attention mask: padded
        frames are zeroed before the positional convolution (as its own zero padding at a
        sequence's end) and masked out of attention, so each piece's states are those of
        running it alone.
        """
        encoder = self._encoder.encoder
        lengths = [p.shape[0] for p in pieces]
        longest = max(lengths)
        if self._ort is not None:
            return self._ort_transform(pieces, lengths)
        if len(pieces) == 1:
            batch, mask = pieces[0][None], None
        else:
            batch = pieces[0].new_zeros((len(pieces), longest, pieces[0].shape[1]))
            mask = torch.zeros((len(pieces), longest), dtype=torch.bool)
            for row, (piece, length) in enumerate(zip(pieces, lengths, strict=True)):
                batch[row, :length] = piece
                mask[row, :length] = True
        with warnings.catch_warnings():
            # WavLM's attention mixes a bool padding mask with its float position bias.
            warnings.filterwarnings("ignore", message=".*mismatched key_padding_mask")
            return self._run_transformer(encoder, batch, mask, lengths)

    def _ort_transform(self, pieces: list[torch.Tensor], lengths: list[int]) -> list[np.ndarray]:
        """``_transform`` through ONNX Runtime: always with a mask (all true for one piece)."""
        assert self._ort is not None
        batch = np.zeros((len(pieces), max(lengths), pieces[0].shape[1]), dtype=np.float32)
        mask = np.zeros(batch.shape[:2], dtype=bool)
        for row, (piece, length) in enumerate(zip(pieces, lengths, strict=True)):
            batch[row, :length] = piece.float().numpy()
            mask[row, :length] = True
        out = self._ort.transform(batch, mask)
        if self._ort.every_layer:
            states = self._weighted_sum(list(torch.from_numpy(out)))
        else:
            states = out.astype(np.float64)
        return [states[row, :length] for row, length in enumerate(lengths)]

    def _run_transformer(
        self, encoder: Any, batch: torch.Tensor, mask: torch.Tensor | None, lengths: list[int]
    ) -> list[np.ndarray]:
        if not self._weighted:
            states = self._states(encoder(batch, attention_mask=mask))
            return [states[row, :length] for row, length in enumerate(lengths)]
        # The head's weighted layer sum needs every layer's states. Calling the transformer
        # directly bypasses the model's output capture, so the states are collected here the
        # way ``output_hidden_states`` defines them: the input of each layer, then the
        # transformer's output (which has the final layer norm in pre-norm variants).
        collected: list[torch.Tensor] = []

        def keep_input(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            collected.append(args[0] if args else kwargs["hidden_states"])

        handles = [
            layer.register_forward_pre_hook(keep_input, with_kwargs=True)
            for layer in encoder.layers
        ]
        try:
            last = encoder(batch, attention_mask=mask).last_hidden_state
        finally:
            for handle in handles:
                handle.remove()
        states = self._weighted_sum([*collected, last])
        return [states[row, :length] for row, length in enumerate(lengths)]

    def _states(self, outputs: Any) -> np.ndarray:
        """(batch, frames, hidden) float64 states the head pools."""
        if self._weighted:
            return self._weighted_sum(list(outputs.hidden_states))
        return outputs.last_hidden_state.float().numpy().astype(np.float64)

    def _weighted_sum(self, hidden_states: list[torch.Tensor]) -> np.ndarray:
        stacked = torch.stack([h.float() for h in hidden_states], dim=1)
        norm_weights = torch.softmax(self.model.layer_weights.float(), dim=-1)
        states = (stacked * norm_weights.view(1, -1, 1, 1)).sum(dim=1)
        return states.numpy().astype(np.float64)

    # -- helpers ---------------------------------------------------------------------------

    def _frames_for(self, samples: int) -> int:
        return int(self.model._get_feat_extract_output_lengths(int(samples)))

    def _normalize(self, audio: np.ndarray) -> np.ndarray:
        """Wav2Vec2FeatureExtractor's zero-mean unit-variance normalisation, when configured."""
        if not self.do_normalize:
            return audio.astype(np.float32, copy=False)
        return ((audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)).astype(np.float32)

    @staticmethod
    def _pad(audio: np.ndarray) -> np.ndarray:
        if audio.size >= _MIN_SAMPLES:
            return audio
        return np.pad(audio, (0, _MIN_SAMPLES - audio.size))

    def _cast(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.dtype == "bf16" and tensor.is_floating_point():
            return tensor.to(torch.bfloat16)
        return tensor

    @contextmanager
    def _inference(self) -> Iterator[None]:
        with torch_threads(self.threads or torch.get_num_threads()), torch.inference_mode():
            yield


def _shape(config: Any) -> dict[str, Any]:
    """What decides a model's speed: architecture and sizes, not its weights or labels."""
    keys = ("model_type", "hidden_size", "num_hidden_layers", "intermediate_size", "conv_dim")
    return {k: getattr(config, k, None) for k in keys}


def _in_precision(model: Any, dtype: str, features: precision.CpuFeatures) -> Any:
    if dtype == "bf16":
        _convs_as_matmuls(model)
        return model.to(torch.bfloat16)
    if dtype == "int8":
        return _quantize_int8(model, bf16_convs=features.native_bf16)
    return model


def _quantize_int8(model: Any, *, bf16_convs: bool = True) -> Any:
    """Dynamic int8 quantisation of Linear layers, plus a bf16 conv feature encoder.

    Linear layers get int8 weights (activations quantised per call). The conv feature encoder
    has no Linear layers and would stay fp32, where it then takes over half the time; on CPUs
    with native bfloat16 (AVX512-BF16, AMX; ``bf16_convs``) it runs in bf16 instead where that
    was timed faster than fp32 here (``_bf16_convs_pay``), its output cast back to fp32 for
    the quantised transformer. Without native bf16 oneDNN would emulate it (AVX512 without
    BF16), which is slower than fp32, so the convs stay fp32 there.

    Some architectures read attention projection weights directly (WavLM concatenates
    ``q_proj.bias``...), which quantised modules do not expose; for those only the Linear layers
    outside attention blocks are quantised, the feed-forward ones that carry most of the FLOPs.
    """
    with warnings.catch_warnings():
        # torch.ao's eager quantisation is deprecated in favour of torchao, which is not a
        # dependency; torch 2.13 still ships and tests it. The int8 test catches its removal.
        warnings.filterwarnings("ignore", message=".*quantiz", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantiz", category=UserWarning)
        quantize = torch.ao.quantization.quantize_dynamic
        candidate = quantize(model, {torch.nn.Linear}, dtype=torch.qint8)  # copy: inplace=False
        try:
            with torch.inference_mode():
                candidate(torch.zeros(1, 16000))
        except (TypeError, AttributeError, RuntimeError):
            names = {
                name
                for name, module in model.named_modules()
                if isinstance(module, torch.nn.Linear) and "attention" not in name
            }
            candidate = quantize(model, names, dtype=torch.qint8)
    if bf16_convs:
        _conv_encoder_in_bf16(candidate)
    return candidate


# Per model shape and thread count: the conv encoder's (fp32, bf16) seconds on the probe.
_bf16_convs: dict[str, tuple[float, float]] = {}


def _bf16_convs_pay(convs: torch.nn.Module, config: Any) -> bool:
    """Whether the conv feature encoder ``convs`` (of a model with ``config``) runs faster in
    bf16 (as ``_convs_to_bf16`` makes it) than in fp32 on this CPU, timed once per model shape
    and thread count on 2 s of the probe audio (best of three, after one warm-up each) and
    logged; False where oneDNN has no bf16 here.

    The CPU flag alone does not say: with AMX bf16 was 2-3x faster; on an Intel Xeon with
    AVX512-BF16 but no AMX (2 cores) it was 1.4x slower than fp32 (0.375 s against 0.27 s per
    10 s of audio), which made int8 slower there than with fp32 convolutions.
    """
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    key = json.dumps([_shape(config), torch.get_num_threads()])
    if key not in _bf16_convs:
        bf16 = copy.deepcopy(convs)
        _convs_to_bf16(bf16)
        audio = torch.from_numpy(precision.probe_audio(2.0))[None, :]
        runs = {"fp32": lambda: convs(audio), "bf16": lambda: bf16(audio)}
        with torch.inference_mode():
            for run in runs.values():
                run()  # warm-up: oneDNN builds its kernels on the first call
            timings = precision.fastest_times(runs, rounds=3)
        _bf16_convs[key] = (timings["fp32"], timings["bf16"])
        logger.info(
            "int8: conv feature encoder in %s (2 s of audio: fp32 %.1f ms, bf16 %.1f ms)",
            "bf16" if timings["bf16"] < timings["fp32"] else "fp32",
            timings["fp32"] * 1000,
            timings["bf16"] * 1000,
        )
    fp32_s, bf16_s = _bf16_convs[key]
    return bf16_s < fp32_s


class _ConvAsMatmul(torch.nn.Module):
    """A Conv1d without padding, groups or dilation as unfold + one matrix product.

    In bf16 oneDNN runs the conv feature encoder's 512-channel convolutions 2-3x slower than
    the same arithmetic as a matrix product on AMX (measured: 215 ms vs 97 ms for one layer
    over 10 s of audio), and the conv stack is over 40 % of a base model's time on short
    stretches. Time is cut into tiles so the unfolded copy stays small whatever the stretch.
    """

    TILE = 4096  # output frames per product: ~12 MB of bf16 columns for 512 channels x 3

    def __init__(self, conv: torch.nn.Conv1d) -> None:
        super().__init__()
        self.kernel = int(conv.kernel_size[0])
        self.stride = int(conv.stride[0])
        self.linear = torch.nn.Linear(
            conv.in_channels * self.kernel, conv.out_channels, bias=conv.bias is not None
        )
        with torch.no_grad():
            self.linear.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                self.linear.bias.copy_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = (x.shape[2] - self.kernel) // self.stride + 1
        tiles = []
        for first in range(0, frames, self.TILE):
            count = min(self.TILE, frames - first)
            piece = x[:, :, first * self.stride : (first + count - 1) * self.stride + self.kernel]
            cols = piece.unfold(2, self.kernel, self.stride).permute(0, 2, 1, 3)
            tiles.append(self.linear(cols.reshape(x.shape[0], count, -1)))
        return torch.cat(tiles, dim=1).transpose(1, 2)


def _conv_tiles(
    samples: torch.Tensor, shapes: list[tuple[int, int]], total: int
) -> Iterator[torch.Tensor]:
    """The input spans of ``_CONV_TILE_FRAMES`` output frames each (the last shorter), for a
    conv stack of (kernel, stride) ``shapes`` without padding: each span is what its frames'
    receptive field reads."""
    field, step = 1, 1
    for kernel, stride in reversed(shapes):
        field = (field - 1) * stride + kernel
        step *= stride
    for start in range(0, total, _CONV_TILE_FRAMES):
        stop = min(start + _CONV_TILE_FRAMES, total)
        yield samples[:, :, start * step : (stop - 1) * step + field]


def _kernel_stride(conv: Any) -> tuple[int, int] | None:
    """(kernel, stride) of an unpadded, undilated 1-D convolution; None for anything else."""
    if isinstance(conv, _ConvAsMatmul):
        return conv.kernel, conv.stride
    if isinstance(conv, torch.nn.Conv1d) and conv.padding in ((0,), 0) and conv.dilation == (1,):
        return int(conv.kernel_size[0]), int(conv.stride[0])
    return None


def _convs_as_matmuls(model: Any) -> None:
    """Swap the conv feature encoder's multi-channel convolutions for ``_ConvAsMatmul``."""
    encoder = getattr(model, getattr(model, "base_model_prefix", ""), None)
    _swap_convs(getattr(encoder, "feature_extractor", None))


def _swap_convs(convs: Any) -> None:
    for layer in getattr(convs, "conv_layers", []):
        conv = getattr(layer, "conv", None)
        if (
            isinstance(conv, torch.nn.Conv1d)
            and conv.in_channels > 1
            and conv.padding in ((0,), 0)
            and conv.groups == 1
            and conv.dilation == (1,)
        ):
            layer.conv = _ConvAsMatmul(conv)


def _conv_encoder_in_bf16(model: Any) -> None:
    encoder = getattr(model, getattr(model, "base_model_prefix", ""), None)
    convs = getattr(encoder, "feature_extractor", None)
    if isinstance(convs, torch.nn.Module) and _bf16_convs_pay(convs, model.config):
        _convs_to_bf16(convs)


def _convs_to_bf16(convs: torch.nn.Module) -> None:
    """The conv feature encoder in bf16, taking and giving fp32 (its convs as matrix products)."""
    _swap_convs(convs)
    convs.to(torch.bfloat16)
    convs.register_forward_pre_hook(_inputs_to_bf16)
    convs.register_forward_hook(_output_to_fp32)


def _inputs_to_bf16(module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a.to(torch.bfloat16) if torch.is_tensor(a) else a for a in args)


def _output_to_fp32(module: torch.nn.Module, args: tuple[Any, ...], output: Any) -> Any:
    return output.float() if torch.is_tensor(output) else output


def _preprocessing(model_dir: Path, config: Any) -> tuple[bool, Any]:
    """(do_normalize, feature extractor for non-waveform models or None).

    Waveform models (Wav2Vec2FeatureExtractor) are preprocessed here, with the extractor's own
    settings, because that lets windows and chunks be normalised without a Python round trip
    per window. Other extractors (spectrogram models like AST) are used as they are.
    """
    from transformers import AutoFeatureExtractor, Wav2Vec2FeatureExtractor

    if (model_dir / "preprocessor_config.json").exists():
        extractor = AutoFeatureExtractor.from_pretrained(model_dir)
        if isinstance(extractor, Wav2Vec2FeatureExtractor):
            return bool(extractor.do_normalize), None
        return True, extractor
    # No preprocessor saved: the config may say; wav2vec2-family checkpoints normalise.
    return bool(getattr(config, "do_normalize", True)), None
