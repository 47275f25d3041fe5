"""The encoder of a wav2vec2-family checkpoint through ONNX Runtime (``ort-fp32``, ``ort-int8``).

ONNX Runtime's CPU kernels were the fastest encoder on some CPUs here (issue 17, ``make bench
--onnx``), so it is one more run-time candidate of ``analysis.engine.classifiers.precision``.
Only the encoder runs in ONNX Runtime; everything around it stays the torch code of
``HFAudioClassifier``, so chunking and pooling are the same maths as the torch precisions:

- ``features``: the conv stack and the feature projection of one tile of samples. The first
  conv layer's group norm is not in the graph: its per-channel scale and shift are inputs,
  computed by the classifier from the whole stretch (``HFAudioClassifier._first_layer_stats``)
  exactly as for the torch tiles, so long stretches go through in tiles with whole-stretch
  statistics;
- ``transformer``: the transformer over a padded batch of projected frames with a frame mask,
  the overlapping chunks of ``HFAudioClassifier._spans`` batched as for torch. For heads on the
  weighted sum of all layers it returns every layer's input and the final output, stacked.

Both graphs are exported once per model content (sha256 of the model folder's files), ONNX
Runtime version, torch version and ``FORMAT`` into a cache folder (``SER_ONNX_CACHE_DIR``;
never the model folder, which may be the shipped one under git), written to a temporary name
and renamed, so two workers exporting at once each leave a whole file. ``ort-int8`` is ONNX
Runtime's dynamic int8 quantisation of the matrix products only (``MatMul``), like torch's
int8 of Linear layers: quantising its convolutions too made the encoder slower than fp32 here
(11.1 s against 7.2 s on a 20 s stretch). Any failure (not installed, export, quantisation,
session) raises ``OrtUnavailable``, which the classifier turns into a logged fallback to torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

ORT_DTYPES = ("ort-fp32", "ort-int8")
FORMAT = 1  # bump when what the graphs compute changes: older cached files are then ignored
OPSET = 17
_digests: dict[tuple[Any, ...], str] = {}


class OrtUnavailable(Exception):
    """ONNX Runtime cannot run this model here; the message says why."""


def version() -> str | None:
    """ONNX Runtime's version when it and ``onnx`` (export, quantisation) import; else None."""
    try:
        import onnx  # noqa: F401  (torch.onnx.export and the quantiser need it)
        import onnxruntime
    except Exception:  # not installed, or a wheel whose native library does not load here
        return None
    return str(onnxruntime.__version__)


def default_cache_dir() -> Path:
    """``SER_ONNX_CACHE_DIR``, else ``$XDG_CACHE_HOME/ser-portal/onnx`` (``~/.cache``)."""
    configured = os.environ.get("SER_ONNX_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ser-portal" / "onnx"


def model_digest(model_dir: Path) -> str:
    """sha256 over the model folder's file names and contents (memoised on names, sizes and
    modification times, so a process hashes a model once)."""
    files = sorted(p for p in Path(model_dir).rglob("*") if p.is_file())
    stamp = (
        str(Path(model_dir).resolve()),
        *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files),
    )
    digest = _digests.get(stamp)
    if digest is None:
        hasher = hashlib.sha256()
        for path in files:
            hasher.update(str(path.relative_to(model_dir)).encode())
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    hasher.update(block)
        digest = _digests[stamp] = hasher.hexdigest()
    return digest


class _Features(torch.nn.Module):
    """Conv stack and feature projection of one tile; the first layer's norm as scale/shift."""

    def __init__(self, encoder: Any, normed: bool) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(encoder.feature_extractor.conv_layers)
        self.projection = encoder.feature_projection
        self.normed = normed

    def forward(self, samples: torch.Tensor, *stats: torch.Tensor) -> torch.Tensor:
        first: Any = self.layers[0]
        if self.normed:
            scale, shift = stats
            h = first.activation(torch.addcmul(shift, first.conv(samples), scale))
        else:
            h = first(samples)
        for layer in self.layers[1:]:
            h = layer(h)
        projected = self.projection(h.transpose(1, 2))
        return projected[0] if isinstance(projected, tuple) else projected


class _Transformer(torch.nn.Module):
    """The transformer on a padded batch; with ``every_layer`` each layer's input and the final
    output stacked (what ``output_hidden_states`` defines), for weighted-layer-sum heads."""

    def __init__(self, stack: Any, every_layer: bool) -> None:
        super().__init__()
        self.stack = stack
        self.every_layer = every_layer

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not self.every_layer:
            return self.stack(hidden, attention_mask=mask).last_hidden_state
        collected: list[torch.Tensor] = []

        def keep_input(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            collected.append(args[0] if args else kwargs["hidden_states"])

        handles = [
            layer.register_forward_pre_hook(keep_input, with_kwargs=True)
            for layer in self.stack.layers
        ]
        try:
            last = self.stack(hidden, attention_mask=mask).last_hidden_state
        finally:
            for handle in handles:
                handle.remove()
        return torch.stack([*collected, last])


def _export(module: torch.nn.Module, args: tuple[Any, ...], path: Path, **names: Any) -> None:
    """torch.onnx.export to a temporary name in ``path``'s folder, then renamed onto ``path``."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.onnx")
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, str(tmp), opset_version=OPSET, dynamo=False, **names)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _quantize(source: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.onnx")
    try:
        # The quantiser logs a line per tensor on the root logger: not for worker logs.
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                quantize_dynamic(
                    str(source),
                    str(tmp),
                    weight_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul"],
                )
            finally:
                logging.disable(previous)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class OrtEncoder:
    """Two ONNX Runtime sessions: ``features`` (one tile) and ``transformer`` (one batch)."""

    def __init__(
        self,
        features: Any,
        transformer: Any,
        *,
        normed: bool,
        every_layer: bool,
        exported_s: float | None,
        paths: tuple[Path, Path],
    ) -> None:
        self._features = features
        self._transformer = transformer
        self.normed = normed
        self.every_layer = every_layer
        self.exported_s = exported_s  # None: both graphs came from the cache
        self.paths = paths

    def features(
        self, samples: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None
    ) -> np.ndarray:
        """(1, frames, hidden) projected features of (1, 1, samples) normalised audio."""
        feeds = {"samples": samples}
        if self.normed:
            assert stats is not None
            feeds["scale"], feeds["shift"] = stats
        return self._features.run(None, feeds)[0]

    def transform(self, batch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(batch, frames, hidden) states, or (layers + 1, batch, frames, hidden) stacked."""
        return self._transformer.run(None, {"hidden": batch, "mask": mask})[0]

    def describe(self) -> str:
        how = (
            "from the cache" if self.exported_s is None else f"exported in {self.exported_s:.1f} s"
        )
        return f"ONNX Runtime {version()}, {self.paths[1].parent}/{self.paths[1].name} {how}"


def load(
    model: Any,
    model_dir: Path,
    dtype: str,
    *,
    normed: bool,
    every_layer: bool,
    cache_dir: Path,
    threads: int,
) -> OrtEncoder:
    """The ONNX Runtime encoder of ``model`` (fp32 torch, loaded from ``model_dir``) at
    ``dtype``, exported into ``cache_dir`` if not there yet. Raises OrtUnavailable."""
    ort_version = version()
    if ort_version is None:
        raise OrtUnavailable("onnxruntime (or onnx) is not installed")
    if dtype not in ORT_DTYPES:
        raise ValueError(f"not an ONNX Runtime precision: {dtype!r}")
    try:
        return _load(model, model_dir, dtype, normed, every_layer, cache_dir, threads, ort_version)
    except OrtUnavailable:
        raise
    except Exception as exc:  # the exporter and ONNX Runtime raise many kinds of error
        raise OrtUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _load(
    model: Any,
    model_dir: Path,
    dtype: str,
    normed: bool,
    every_layer: bool,
    cache_dir: Path,
    threads: int,
    ort_version: str,
) -> OrtEncoder:
    import onnxruntime as ort

    encoder = getattr(model, model.base_model_prefix)
    key = (
        f"{model_digest(model_dir)[:20]}-ort{ort_version}-torch{torch.__version__.split('+')[0]}"
        f"-f{FORMAT}{'-layers' if every_layer else ''}"
    )
    folder = Path(cache_dir) / key
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        (part, variant): folder / f"{part}-{variant}.onnx"
        for part in ("features", "transformer")
        for variant in ("fp32", "int8")
    }
    variant = dtype.removeprefix("ort-")
    hidden_size = int(model.config.hidden_size)
    started = time.perf_counter()
    exported = False
    if not paths["features", "fp32"].exists():
        exported = True
        channels = int(encoder.feature_extractor.conv_layers[0].conv.out_channels)
        stats = (torch.ones(1, channels, 1), torch.zeros(1, channels, 1)) if normed else ()
        _export(
            _Features(encoder, normed).eval(),
            (torch.zeros(1, 1, 16000), *stats),
            paths["features", "fp32"],
            input_names=["samples", *(["scale", "shift"] if normed else [])],
            output_names=["features"],
            dynamic_axes={"samples": {2: "samples"}, "features": {1: "frames"}},
        )
    if not paths["transformer", "fp32"].exists():
        exported = True
        # A padded second row, so the traced graph keeps the masking (an all-true mask could be
        # traced as no mask at all).
        hidden = torch.randn(2, 50, hidden_size, generator=torch.Generator().manual_seed(0))
        mask = torch.ones(2, 50, dtype=torch.bool)
        mask[1, 40:] = False
        axes = {1: "batch", 2: "frames"} if every_layer else {0: "batch", 1: "frames"}
        _export(
            _Transformer(encoder.encoder, every_layer).eval(),
            (hidden, mask),
            paths["transformer", "fp32"],
            input_names=["hidden", "mask"],
            output_names=["states"],
            dynamic_axes={
                "hidden": {0: "batch", 1: "frames"},
                "mask": {0: "batch", 1: "frames"},
                "states": axes,
            },
        )
    if variant == "int8":
        for part in ("features", "transformer"):
            if not paths[part, "int8"].exists():
                exported = True
                _quantize(paths[part, "fp32"], paths[part, "int8"])
    exported_s = time.perf_counter() - started if exported else None

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are not for worker logs
    sessions = [
        ort.InferenceSession(str(paths[part, variant]), options, providers=["CPUExecutionProvider"])
        for part in ("features", "transformer")
    ]
    return OrtEncoder(
        *sessions,
        normed=normed,
        every_layer=every_layer,
        exported_s=exported_s,
        paths=(paths["features", variant], paths["transformer", variant]),
    )
