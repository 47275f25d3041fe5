"""The speech engine: everything between an audio file and a timeline of labelled turns.

Django-free by contract (``[tool.importlinter]`` in pyproject.toml): nothing here imports Django,
Celery or ``sessions``, so the engine runs in a worker, a benchmark or a notebook alike. Heavy
libraries (torch, transformers) are imported lazily inside the functions that need them.

Subpackages, in pipeline order: ``audio`` (decoding, quality, recording conditions,
augmentation), ``speech`` (voice activity), ``speakers`` (embeddings, clustering, roles),
``emotion`` (turn emotion, voice baseline, summaries), ``classifiers`` (features, model formats,
import checks), ``prosody`` and ``practice`` (practice attempts), ``pipeline`` (a whole recording),
``training`` (datasets, recipes, evaluation) and ``benchmarks``.
"""
