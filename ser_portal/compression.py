"""Gzip for JSON responses only (the session timeline's data is ~1 MB of JSON; issue 14).

Why only JSON, and why that is safe from BREACH: BREACH reads a secret out of a compressed
response whose body also reflects attacker-chosen text. Our HTML pages carry the CSRF token in
their forms, so they are never compressed here. The JSON API's bodies carry no CSRF token and
no credential: API clients authenticate with a header, the browser's pages with the session
cookie, neither ever echoed in a body. The one JSON body with a secret, the API token handed
out by ``POST /api/v1/auth/token/``, is excluded by path (``GZIP_EXCLUDED_PREFIXES``), so no
response that holds a secret is compressed. Static files are compressed ahead of time by
WhiteNoise and never pass through here.
"""

from __future__ import annotations

import gzip

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip
from django.utils.cache import patch_vary_headers

JSON_TYPES = ("application/json", "application/vnd.oai.openapi+json")
# Level 1, not Django's 6: the timeline's ~1 MB of JSON compresses in ~10 ms instead of ~130 ms
# of server time on the shared VM (6 ms against 89 ms for 616 kB), for ~18% more bytes; on the
# page's critical path the server's time counts more than the bytes.
LEVEL = 1


class JsonGZipMiddleware(GZipMiddleware):
    """Django's ``GZipMiddleware`` rules (Vary: Accept-Encoding, weak ETags, bodies under 200
    bytes left alone), for JSON responses outside the excluded paths only, at ``LEVEL``."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            return response
        excluded = getattr(settings, "GZIP_EXCLUDED_PREFIXES", ())
        if any(request.path.startswith(prefix) for prefix in excluded):
            return response
        if response.streaming:  # exports: Django's own, chunk by chunk
            return super().process_response(request, response)
        content: bytes = response.content  # type: ignore[attr-defined]
        if len(content) < 200 or response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        compressed = gzip.compress(content, compresslevel=LEVEL, mtime=0)
        if len(compressed) >= len(content):
            return response
        response.content = compressed  # type: ignore[attr-defined]
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
