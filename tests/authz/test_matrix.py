"""Every persona against every URL and API endpoint, with the expected status."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests.authz
from tests.authz.matrix import EXEMPT_PREFIXES, LOGIN, Endpoint
from tests.authz.snapshot import changes, database_rows
from tests.conftest import PERSONAS, Cast


def _all_entries() -> list[Endpoint]:
    entries: list[Endpoint] = []
    for info in pkgutil.iter_modules(tests.authz.__path__):
        if info.name.startswith("entries_"):
            module = importlib.import_module(f"tests.authz.{info.name}")
            entries.extend(module.ENTRIES)
    return entries


ENTRIES = _all_entries()


def _url_names(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            names |= _url_names(pattern, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def test_every_url_is_in_the_matrix() -> None:
    covered = {entry.name for entry in ENTRIES}
    missing = sorted(
        name
        for name in _url_names()
        if name not in covered and not name.startswith(EXEMPT_PREFIXES)
    )
    assert missing == [], f"URLs without an authorization-matrix entry: {missing}"


def _prepare(entry: Endpoint, cast: Cast) -> tuple[str, dict[str, Any] | None]:
    """The entry's URL and data; building them may create the objects the entry is about."""
    url = reverse(entry.name, kwargs=entry.kwargs(cast))
    if entry.query:
        from urllib.parse import urlencode

        url += "?" + urlencode(entry.query(cast))
    return url, entry.data(cast) if entry.data else None


def _send(client: APIClient, entry: Endpoint, url: str, data: dict[str, Any] | None) -> Any:
    method = getattr(client, entry.method)
    if entry.fmt:
        return method(url, data, format=entry.fmt)
    return method(url, data) if data is not None else method(url)


# Statuses that refuse a request: who is not let in must leave no trace in the database.
REFUSED = {401, 403, 404, 405}


def refused(entry: Endpoint, persona: str) -> bool:
    expected = entry.expect[persona]
    return expected in REFUSED or (persona == "anonymous" and expected == LOGIN)


CASES = [(entry, persona) for entry in ENTRIES for persona in PERSONAS]


@pytest.mark.parametrize(
    ("entry", "persona"),
    CASES,
    ids=[f"{e.name}{'-' + e.label if e.label else ''}-{e.method}-{p}" for e, p in CASES],
)
def test_authorization_matrix(entry: Endpoint, persona: str, cast: Cast) -> None:
    client = APIClient()
    user = cast.user(persona)
    if user is not None:
        client.force_login(user)
    url, data = _prepare(entry, cast)
    check_nothing_changed = entry.method != "get" and refused(entry, persona)
    before = database_rows() if check_nothing_changed else {}
    response = _send(client, entry, url, data)
    expected = entry.expect[persona]
    unexpected_allow = response.status_code < 300 and not expected < 300
    assert response.status_code == expected, (
        f"{entry.name} as {persona}: got {response.status_code}, expected {expected}"
        + (" (UNEXPECTED ALLOW)" if unexpected_allow else "")
    )
    if check_nothing_changed:
        changed = changes(before, database_rows())
        assert changed == {}, f"{entry.name} as {persona} was refused but changed rows: {changed}"


def test_refused_writes_are_checked_for_changes() -> None:
    """The check above covers every kind of write the matrix refuses, not a handful."""
    checked = [(e, p) for e, p in CASES if e.method != "get" and refused(e, p)]
    assert {e.method for e, _ in checked} >= {"post", "put", "delete"}
    # 208 refused writes of 36 write entries when this was written; the walk must not shrink.
    assert len(checked) >= 200
    assert len({(e.name, e.label, e.method) for e, _ in checked}) >= 35


def test_a_refused_write_that_changes_a_row_is_caught(cast: Cast) -> None:
    before = database_rows()
    type(cast.child).objects.filter(pk=cast.child.pk).update(given_name="Changed")
    assert set(changes(before, database_rows())) == {"therapy_sessions.Child"}


# Two cases in this order: the first writes, the second must not see it (savepoint per case
# inside the module's shared cast, tests/authz/conftest.py).
def test_shared_cast_isolation_1_a_case_writes(cast: Cast) -> None:
    from sessions.workspace.models import TrendMarker

    type(cast.child).objects.filter(pk=cast.child.pk).update(given_name="Leaked")
    cast.child.given_name = "Leaked"
    cast.extra["marker"] = TrendMarker.objects.create(
        child=cast.child, kind="phase", date="2026-09-01", label="leak"
    )
    cast.child.therapists.clear()
    cast.other_guardian.delete()


def test_shared_cast_isolation_2_the_next_case_sees_none_of_it(cast: Cast) -> None:
    from sessions.workspace.models import TrendMarker

    assert cast.child.given_name == "Mia" and cast.extra == {}
    assert type(cast.child).objects.get(pk=cast.child.pk).given_name == "Mia"
    assert not TrendMarker.objects.filter(label="leak").exists()
    assert type(cast.other_guardian).objects.filter(pk=cast.other_guardian.pk).exists()
    assert list(cast.child.therapists.all()) == [cast.therapist]
