"""Every row of the database, to show that a refused write changed nothing.

The matrix's database is small (the cast and the objects one entry builds: a few dozen rows),
so the snapshot holds every column of every row of every table, many-to-many tables included,
instead of counts and ``updated_at`` alone (a refused write that changed a field of a model
without ``updated_at``, or an m2m link, would pass those). Left out: Django's permission and
content-type catalogues (never written by a request) and ``django_session`` (the test client's
own login lives there).
"""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.db import connection, models

Snapshot = dict[str, list[tuple[Any, ...]]]

_SKIPPED = {"auth.Permission", "contenttypes.ContentType", "sessions.Session"}


def _tables() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.label not in _SKIPPED
    ]


@functools.cache
def _query(vendor: str) -> str:
    """Every row of every table as text, in one query (one per table took 16 ms a snapshot)."""
    quote = connection.ops.quote_name
    selects = []
    for model in _tables():
        table = quote(model._meta.db_table)
        if vendor == "postgresql":
            row = "row_text::text"  # the whole row in PostgreSQL's record syntax
        else:
            row = " || '|' || ".join(
                f"quote({quote(str(field.column))})" for field in model._meta.concrete_fields
            )
        # Names and labels come from the models' own metadata, never from input.
        label = model._meta.label
        selects.append(f"SELECT '{label}', {row} FROM {table} AS row_text")  # noqa: S608
    return " UNION ALL ".join(selects)


def database_rows() -> Snapshot:
    found: Snapshot = {model._meta.label: [] for model in _tables()}
    with connection.cursor() as cursor:
        cursor.execute(_query(connection.vendor))
        for table, row in cursor.fetchall():
            found[table].append((row,))
    return {table: sorted(rows) for table, rows in found.items()}


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per table, the rows that appeared and the rows that are gone or were changed."""
    found: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for table, rows in after.items():
        old = before.get(table, [])
        added = [row for row in rows if row not in old]
        removed = [row for row in old if row not in rows]
        if added or removed:
            found[table] = {"new or changed": added, "gone or changed": removed}
    return found
