"""The demo's SQLite database lets concurrent writers wait for each other instead of failing
with "database is locked" (the web server and the workers share one file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.conftest import demo_environment

# Two threads run a read-then-write transaction at the same time, the shape of every
# select_for_update in the services (which SQLite ignores). On a deferred transaction the
# second writer fails at once; with IMMEDIATE and a busy timeout it waits its turn.
_SCRIPT = r"""
import json, threading, time
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE counter (n integer)")
    cursor.execute("INSERT INTO counter VALUES (0)")
connection.close()
barrier = threading.Barrier(2)
errors = []

def bump():
    try:
        barrier.wait()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            n = cursor.fetchone()[0]
            time.sleep(0.3)
            cursor.execute("UPDATE counter SET n = %s", [n + 1])
    except Exception as exc:
        errors.append(str(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=bump) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT n FROM counter")
    print(json.dumps({"n": cursor.fetchone()[0], "errors": errors}))
"""


def test_concurrent_writers_on_the_demo_database_wait_instead_of_failing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=demo_environment(tmp_path),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"n": 2, "errors": []}
