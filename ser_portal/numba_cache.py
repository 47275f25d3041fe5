"""Where numba keeps the functions it compiles for librosa (decoding, speakers, prosody).

librosa's JIT functions are cached (``cache=True``). Numba writes that cache next to librosa's
source, else under ``~/.cache/numba``; where neither is writable (the production image: the
packages are root-owned and the app user's home is read-only) it refuses to define the
functions at all, so ``import librosa`` fails inside a worker with "cannot cache function ...:
no locator available". ``configure`` points numba at the instance's var directory in that case.
It must run before numba is imported: the settings call it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path

CACHE_DIR_NAME = "numba-cache"


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def librosa_dir() -> Path | None:
    """librosa's package folder, found without importing it (None if it is not installed)."""
    spec = importlib.util.find_spec("librosa")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def configure(
    var_dir: Path,
    environ: MutableMapping[str, str] = os.environ,
    package_dir: Path | None = None,
    writable: Callable[[Path], bool] = _writable,
) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to ``var_dir/numba-cache`` when numba could not cache in
    librosa's folder (``package_dir``, by default the installed librosa's); an explicit setting
    is kept. Returns the directory set, or None where nothing was changed."""
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    package_dir = package_dir if package_dir is not None else librosa_dir()
    if package_dir is None:
        return None
    pycache = package_dir / "__pycache__"
    if writable(pycache if pycache.is_dir() else package_dir):
        return None
    environ["NUMBA_CACHE_DIR"] = str(var_dir / CACHE_DIR_NAME)
    return environ["NUMBA_CACHE_DIR"]
