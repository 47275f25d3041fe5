"""The suite's one tiny-model builder: a 2-layer, 32-wide audio classifier built from a config.

Saved with ``save_pretrained`` (safetensors), so it loads through exactly the code path of a
real checkpoint. Django-free: the engine tests (``tests/analysis/engine``) use it without
Django, the registry tests for archives and imports, ``tests/model_factory.py`` to register an
active model for a clinic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from analysis.engine.classifiers.base import ModelManifest

# Superb-style labels, one of them ("xxx") a label the portal deliberately ignores.
TINY_LABELS = ("neu", "hap", "ang", "sad", "xxx")
TINY_LABEL_MAP: dict[str, str | None] = {
    "neu": "neutral",
    "hap": "happy",
    "ang": "angry",
    "sad": "sad",
    "xxx": None,
}


def build_tiny_model(
    model_dir: Path,
    *,
    arch: str = "wav2vec2",
    labels: Sequence[str] = TINY_LABELS,
    label_map: Mapping[str, str | None] | None = None,
    seed: int = 0,
    sharpen: float = 400.0,
    weighted_layer_sum: bool = False,
    feature_extractor: bool = False,
    manifest: bool = True,
    name: str | None = None,
    manifest_extra: dict[str, object] | None = None,
    pickle_only: bool = False,
    extra_config: dict[str, object] | None = None,
) -> Path:
    """A tiny ``arch`` ("wav2vec2", "hubert", "wavlm") classifier for ``labels`` in ``model_dir``.

    The conv stack has a 320-sample stride like real wav2vec2 models, so frame alignment is
    realistic. Random heads give near-uniform probabilities, which would hide differences, so
    the classifier weights are scaled by ``sharpen`` (1.0 leaves them as initialised).

    ``manifest``: also write the portal's ``ser_model.json`` (with ``label_map``, by default
    the tiny map, and ``manifest_extra``); without it the folder is what a Hugging Face
    download is (what the import tests stage). ``feature_extractor`` saves a
    preprocessor_config.json; ``pickle_only`` keeps only ``pytorch_model.bin`` weights (the
    import refuses them unless allowed); ``extra_config`` is merged into config.json.
    """
    import torch
    from transformers import (
        HubertConfig,
        HubertForSequenceClassification,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
        WavLMConfig,
        WavLMForSequenceClassification,
    )

    classes = {
        "wav2vec2": (Wav2Vec2Config, Wav2Vec2ForSequenceClassification),
        "hubert": (HubertConfig, HubertForSequenceClassification),
        "wavlm": (WavLMConfig, WavLMForSequenceClassification),
    }
    config_cls, model_cls = classes[arch]
    torch.manual_seed(seed)
    config = config_cls(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32, 32),
        conv_kernel=(10, 8, 4),
        conv_stride=(5, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
        use_weighted_layer_sum=weighted_layer_sum,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = model_cls(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(sharpen)
        if weighted_layer_sum:
            model.layer_weights.copy_(torch.tensor([0.5, 1.0, 2.0]))
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    if feature_extractor:
        Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(model_dir)
    if extra_config:
        path = model_dir / "config.json"
        data = json.loads(path.read_text())
        data.update(extra_config)
        path.write_text(json.dumps(data))
    if pickle_only:
        from safetensors.torch import load_file

        state = load_file(str(model_dir / "model.safetensors"))
        torch.save(state, model_dir / "pytorch_model.bin")
        (model_dir / "model.safetensors").unlink()
    if manifest:
        mapping = dict(label_map) if label_map is not None else dict(TINY_LABEL_MAP)
        ModelManifest(
            kind="hf_audio_classification",
            name=name or f"tiny-{arch}",
            version="1",
            labels=list(labels),
            label_map={label: mapping.get(label) for label in labels},
            architecture=model_cls.__name__,
            extra=dict(manifest_extra or {}),
        ).write(model_dir)
    return model_dir
