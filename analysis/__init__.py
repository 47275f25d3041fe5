"""Speech analysis: the Django-free engine (``analysis.engine``) and the Django side around it.

- ``analysis.engine``: decoding, speech detection, speakers, emotion, features and classifiers,
  prosody, training, evaluation and benchmarks. Imports neither Django nor ``sessions``.
- ``analysis.models``, ``services``, ``selectors``, ``tasks``, ``api``: analysis runs, segments and
  frames, the Celery tasks that run the engine on a recording, and their API.
- ``analysis.registry``: the clinic's model registry (import, stage, activate, compare).
- ``analysis.enrollment``: therapists' enrolled voice prints.
"""
