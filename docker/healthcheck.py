"""Container health probe: GET /healthz on the local gunicorn, as the proxy would send it.

It sends the first DJANGO_ALLOWED_HOSTS entry as Host (Django refuses other hosts) and
X-Forwarded-Proto: https (so the HTTPS redirect does not apply). Exit 0 when healthy.
"""

from __future__ import annotations

import os
import sys
import urllib.request

host = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    "http://127.0.0.1:8000/healthz", headers={"Host": host, "X-Forwarded-Proto": "https"}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
