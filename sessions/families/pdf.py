"""Progress reports as PDF (WeasyPrint), from the same context as the family's web page.

The PDF template shows only what the guardian may see: the report's own summary (dates, kinds
and speech figures of the chosen sessions), the therapist's comments for the family and the
charts. Session notes, titles and anything about another child never reach it.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from sessions.families.models import ProgressReport
from sessions.families.presentation import report_context


def report_pdf_html(report: ProgressReport) -> str:
    return render_to_string("families/report_pdf.html", report_context(report, pdf=True))


def report_pdf(report: ProgressReport) -> bytes:
    """The report as PDF bytes. Pure rendering: changes nothing."""
    from weasyprint import HTML  # imported late: loading pango takes a moment

    html = report_pdf_html(report)
    return bytes(HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf())


def report_pdf_filename(report: ProgressReport) -> str:
    return f"{report.child.code}-progress-report-{report.period_end:%Y-%m-%d}-v{report.version}.pdf"
