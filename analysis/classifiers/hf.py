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
(tests/analysis/test_hf_classifier.py checks < 1e-5). With overlapping windows in a longer
stretch the answers differ by the context effect, measured in that test for tiny models and
by ``python -m analysis.bench`` (with ``--model DIR`` for a real checkpoint it prints the
largest probability difference and how often the top label agrees). ``context="window"``
gives exact per-window answers where that matters more than speed.

Long stretches are encoded in chunks of ``chunk_s`` with ``context_s`` of overlap on each
side; each frame is taken from the chunk where it is furthest from an edge, so attention cost
stays linear in the recording length and memory bounded.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.canonical import to_canonical
from analysis.classifiers.base import ModelFormatError, ModelManifest
from analysis.segmentation import torch_threads

DTYPES = ("fp32", "bf16", "int8")
_MIN_SAMPLES = 400  # one frame of a wav2vec2-style conv stack
_MAX_CHUNK_FRAMES = 1500  # 30 s of wav2vec2 frames


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
        chunk_s: float = 20.0,
        context_s: float = 1.0,
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
        chunk_s: float = 20.0,
        context_s: float = 1.0,
        batch_size: int = 8,
        **_ignored: Any,
    ) -> HFAudioClassifier:
        """Load weights and preprocessing from ``model_dir``.

        dtype: "fp32" (reference), "bf16" (weights and activations in bfloat16; needs a CPU
        with AVX512-BF16/AMX to be faster), "int8" (dynamic int8 quantisation of Linear
        layers, conv feature encoder in bf16 where the CPU supports it; the fastest on the
        AVX512 development machine: ~3x fp32, see ``analysis.bench``). threads: torch
        intra-op threads during inference (None: leave the process setting alone).
        """
        from transformers import AutoConfig, AutoModelForAudioClassification
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # worker logs are not terminals

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
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
        if dtype == "bf16":
            model = model.to(torch.bfloat16)
        elif dtype == "int8":
            model = _quantize_int8(model)
        return cls(
            model,
            manifest,
            do_normalize=do_normalize,
            feature_extractor=extractor,
            dtype=dtype,
            threads=threads,
            chunk_s=chunk_s,
            context_s=context_s,
            batch_size=batch_size,
        )

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
        if not windows:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        if context == "window" or not self._pools_frames:
            return self.predict_model_proba([audio[s:e] for s, e in windows])
        if context != "stretch":
            raise ValueError(f"context must be 'stretch' or 'window', not {context!r}")
        padded = self._pad(audio)
        with self._inference():
            frames = self._encode_stretch(padded)  # (F, hidden), float64
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

    def _encode_stretch(self, audio: np.ndarray) -> np.ndarray:
        """Frame states for the whole stretch, stitched from overlapping chunks."""
        step = self.frame_step
        total = self._frames_for(audio.size)
        # Attention memory grows with frames squared: cap a chunk at _MAX_CHUNK_FRAMES whatever
        # the conv stride (a tiny test model with a 10-sample stride would otherwise ask for
        # gigabytes on a 20 s chunk).
        chunk = max(min(int(self.chunk_s * self.sample_rate) // step, _MAX_CHUNK_FRAMES), 4)
        chunk *= step
        margin = min(int(self.context_s * self.sample_rate), chunk // 4) // step * step
        if audio.size <= chunk:
            return self._encode(audio)[:total]
        core = chunk - 2 * margin
        if core <= 0:
            raise ValueError("chunk_s must exceed twice context_s")
        out: np.ndarray | None = None
        for core_start in range(0, audio.size, core):
            lo = max(core_start - margin, 0)
            hi = min(core_start + core + margin, audio.size)
            if hi - lo < _MIN_SAMPLES:
                lo = max((hi - _MIN_SAMPLES) // step * step, 0)
            states = self._encode(audio[lo:hi])
            if out is None:
                out = np.zeros((total, states.shape[1]), dtype=np.float64)
            keep_from = core_start // step
            keep_to = min((core_start + core) // step, total)
            if core_start + core >= audio.size:
                keep_to = total
            offset = lo // step
            usable = min(keep_to, offset + states.shape[0])
            out[keep_from:usable] = states[keep_from - offset : usable - offset]
            if usable < keep_to:  # the final partial frames: repeat the last state
                out[usable:keep_to] = states[-1]
        assert out is not None
        return out

    def _encode(self, audio: np.ndarray) -> np.ndarray:
        """Hidden states the head would pool, (frames, hidden), for one chunk."""
        inputs = self._cast(torch.from_numpy(self._normalize(audio))[None, :])
        weighted = bool(getattr(self.model.config, "use_weighted_layer_sum", False))
        outputs = self._encoder(inputs, output_hidden_states=weighted)
        if weighted:
            stacked = torch.stack(outputs.hidden_states, dim=1)
            norm_weights = torch.softmax(self.model.layer_weights.float(), dim=-1)
            states = (stacked.float() * norm_weights.view(-1, 1, 1)).sum(dim=1)
        else:
            states = outputs.last_hidden_state
        return states[0].float().numpy().astype(np.float64)

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


def _quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantisation of Linear layers, plus a bf16 conv feature encoder.

    Linear layers get int8 weights (activations quantised per call). The conv feature encoder
    has no Linear layers and would stay fp32, where it then takes over half the time; on CPUs
    with native bfloat16 (AVX512-BF16, AMX) it runs in bf16 instead, its output cast back to
    fp32 for the quantised transformer.

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
    _conv_encoder_in_bf16(candidate)
    return candidate


def _conv_encoder_in_bf16(model: Any) -> None:
    encoder = getattr(model, getattr(model, "base_model_prefix", ""), None)
    convs = getattr(encoder, "feature_extractor", None)
    if not isinstance(convs, torch.nn.Module) or not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return
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
