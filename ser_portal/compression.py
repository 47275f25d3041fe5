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

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

JSON_TYPES = ("application/json", "application/vnd.oai.openapi+json")


class JsonGZipMiddleware(GZipMiddleware):
    """Django's ``GZipMiddleware`` (Vary: Accept-Encoding, ETag handling, small bodies left
    alone), applied to JSON responses outside the excluded paths only."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            return response
        excluded = getattr(settings, "GZIP_EXCLUDED_PREFIXES", ())
        if any(request.path.startswith(prefix) for prefix in excluded):
            return response
        return super().process_response(request, response)
