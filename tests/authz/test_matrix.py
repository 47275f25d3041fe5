"""Every persona against every URL and API endpoint, with the expected status."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests.authz
from tests.authz.matrix import EXEMPT_PREFIXES, Endpoint
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


def _request(client: APIClient, entry: Endpoint, cast: Cast) -> Any:
    url = reverse(entry.name, kwargs=entry.kwargs(cast))
    if entry.query:
        from urllib.parse import urlencode

        url += "?" + urlencode(entry.query(cast))
    data = entry.data(cast) if entry.data else None
    method = getattr(client, entry.method)
    if entry.fmt:
        return method(url, data, format=entry.fmt)
    return method(url, data) if data is not None else method(url)


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
    response = _request(client, entry, cast)
    expected = entry.expect[persona]
    unexpected_allow = response.status_code < 300 and not expected < 300
    assert response.status_code == expected, (
        f"{entry.name} as {persona}: got {response.status_code}, expected {expected}"
        + (" (UNEXPECTED ALLOW)" if unexpected_allow else "")
    )
