"""Error pages that say what happened and nothing about the system.

API paths get JSON (``{"detail": ...}``) like every other API answer. The 500 page is rendered
(and the 400 page) without the request context, so it still works when what failed was the
database, a middleware or a context processor: it shows no navigation, no user and nothing from
the exception.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(status: int, detail: str) -> HttpResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json(400, "Bad request.")
    # Also raised before the authentication middleware ran (a forged Host header): no user yet.
    return HttpResponse(loader.get_template("errors/400.html").render({}), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json(403, "You do not have permission to do this.")
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json(404, "Not found.")
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json(500, "Something went wrong on our side. It has been logged.")
    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent with a missing or stale security token, usually after the session expired.

    ``reason`` is Django's technical explanation: it goes nowhere near the page.
    """
    if _is_api(request):
        return _json(403, "The request was refused: missing or expired security token.")
    return render(request, "errors/403_csrf.html", status=403)
