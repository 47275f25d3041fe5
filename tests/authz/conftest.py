"""The matrix shares one cast per module: built once, each case in a savepoint of it.

About 830 cases ran against a freshly built seven-persona cast each; now the cast is built
once per module (``module_cast``) and each case gets copies of its instances inside the
``db`` fixture's transaction, which nests as a savepoint and is rolled back after the case.
``test_matrix.py::test_shared_cast_isolation_*`` check the isolation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cast


@pytest.fixture
def cast(module_cast: Cast, db: Any) -> Cast:
    return module_cast.fresh_copy()
