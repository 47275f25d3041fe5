"""librosa loads where its own folder is read-only (the production image's app user).

Numba refuses to define librosa's cached JIT functions when it finds no cache folder it can
write; ``ser_portal.numba_cache`` gives it the instance's var directory in that case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from ser_portal import numba_cache

# As in an image whose packages and home the app user cannot write: numba may only use
# NUMBA_CACHE_DIR (the in-tree and home-folder locations are what it cannot write there).
_READ_ONLY_INSTALL = {"NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator"}

_LOAD_LIBROSA = """
import sys
from pathlib import Path
from ser_portal import numba_cache
if sys.argv[1] == "configure":
    numba_cache.configure(Path(sys.argv[2]), writable=lambda path: False)
import librosa
print(librosa.note_to_hz("A4"), flush=True)
"""


def _load_librosa(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | _READ_ONLY_INSTALL
    return subprocess.run(
        [sys.executable, "-c", _LOAD_LIBROSA, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_librosa_loads_from_a_read_only_install_once_numba_has_the_var_directory(
    tmp_path: Path,
) -> None:
    without = _load_librosa(tmp_path, "leave")
    assert without.returncode != 0
    assert "no locator available" in without.stderr

    loaded = _load_librosa(tmp_path, "configure", str(tmp_path))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "440.0"
    assert (tmp_path / numba_cache.CACHE_DIR_NAME).is_dir()


def test_the_cache_folder_is_set_only_where_librosa_s_own_is_not_writable(tmp_path: Path) -> None:
    package = tmp_path / "librosa"
    (package / "__pycache__").mkdir(parents=True)
    var = tmp_path / "var"

    environ: dict[str, str] = {}
    assert numba_cache.configure(var, environ, package, writable=lambda path: True) is None
    assert environ == {}

    checked: list[Path] = []

    def read_only(path: Path) -> bool:
        checked.append(path)
        return False

    assert numba_cache.configure(var, environ, package, writable=read_only) == str(
        var / "numba-cache"
    )
    assert environ == {"NUMBA_CACHE_DIR": str(var / "numba-cache")}
    assert checked == [package / "__pycache__"]

    # An operator's own setting wins.
    chosen = {"NUMBA_CACHE_DIR": "/srv/cache"}
    assert numba_cache.configure(var, chosen, package, writable=read_only) is None
    assert chosen == {"NUMBA_CACHE_DIR": "/srv/cache"}


def test_the_installed_librosa_s_folder_is_found() -> None:
    found = numba_cache.librosa_dir()
    assert found is not None
    assert (found / "__init__.py").is_file()
