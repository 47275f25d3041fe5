"""Progress reports as PDF (WeasyPrint), from the same context as the family's web page.

The PDF template shows only what the guardian may see: the report's own summary (dates, kinds
and speech figures of the chosen sessions), the therapist's comments for the family and the
charts. Session notes, titles and anything about another child never reach it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string

from sessions.families.models import ProgressReport
from sessions.families.presentation import report_context


class ResourceRefused(ValueError):
    """The PDF asked for something other than one of the portal's own static files."""


def static_file_for(url: str) -> Path | None:
    """The portal's own static file that ``url`` names (``file:`` in a static folder, or
    ``file:/static/...``), or None. Any other file, and any network URL, is None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = unquote(parts.path)
    if path.startswith(settings.STATIC_URL):
        try:
            found = finders.find(path.removeprefix(settings.STATIC_URL))
        except SuspiciousFileOperation:  # "/static/../.." leaves the static folders
            return None
        return Path(found).resolve() if isinstance(found, str) else None
    candidate = Path(path).resolve()
    roots = [Path(str(folder)).resolve() for folder in settings.STATICFILES_DIRS]
    if any(candidate.is_relative_to(root) for root in roots) and candidate.is_file():
        return candidate
    return None


def html_to_document(html: str) -> Any:
    """``html`` laid out in pages (a WeasyPrint document). Images and stylesheets may come only
    from the portal's static files or inline ``data:`` URLs: never another file of the server,
    never the network."""
    from weasyprint import HTML  # imported late: loading pango takes a moment
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            found = static_file_for(url)
            if found is None:
                raise ResourceRefused(f"not one of the portal's static files: {url[:200]}")
            content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                url, body=found.read_bytes(), headers={"Content-Type": content_type}
            )

    html_document = HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=StaticOnlyFetcher()
    )
    return html_document.render()


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of ``html``, with the resources ``html_to_document`` allows."""
    return bytes(html_to_document(html).write_pdf())


def report_pdf_html(report: ProgressReport) -> str:
    return render_to_string("families/report_pdf.html", report_context(report, pdf=True))


def report_pdf(report: ProgressReport) -> bytes:
    """The report as PDF bytes. Pure rendering: changes nothing."""
    return html_to_pdf(report_pdf_html(report))


def report_pdf_filename(report: ProgressReport) -> str:
    return f"{report.child.code}-progress-report-{report.period_end:%Y-%m-%d}-v{report.version}.pdf"
