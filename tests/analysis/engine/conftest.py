"""Engine tests keep exported ONNX Runtime encoders in a folder of their own, not in the
user's cache (``ort_encoder.default_cache_dir``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get("SER_ONNX_CACHE_DIR")
    os.environ["SER_ONNX_CACHE_DIR"] = str(tmp_path_factory.mktemp("onnx-cache"))
    yield
    if before is None:
        os.environ.pop("SER_ONNX_CACHE_DIR", None)
    else:
        os.environ["SER_ONNX_CACHE_DIR"] = before
