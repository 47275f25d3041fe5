"""The PDF renderer loads nothing but the portal's own static files: no other file of the
server, no network address (a report must never become a way to read or reach either)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from sessions.families.pdf import html_to_document, html_to_pdf, static_file_for

# A stylesheet that makes the page 100 px square (75 pt): visible in the PDF's MediaBox.
SMALL_PAGE_CSS = b"@page { size: 100px 100px; margin: 0 }"


def _page_width_px(html: str) -> float:
    return float(html_to_document(html).pages[0].width)


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that serves the small-page stylesheet and logs paths."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(SMALL_PAGE_CSS)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def _page(href: str) -> str:
    return f'<html><head><link rel="stylesheet" href="{href}"></head><body>Hi</body></html>'


def test_a_network_stylesheet_is_never_fetched(web_server: tuple[str, list[str]]) -> None:
    base, requests = web_server
    html = _page(f"{base}/evil.css") + f'<img src="{base}/pixel.png">'
    assert html_to_pdf(html).startswith(b"%PDF")
    assert _page_width_px(html) > 700  # A4 (794 px), not the stylesheet's 100 px page
    assert requests == []


def test_a_server_file_outside_the_static_folders_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "small.css"
    secret.write_bytes(SMALL_PAGE_CSS)
    for href in (secret.as_uri(), "file:///etc/passwd", "file:///static/../etc/passwd"):
        assert static_file_for(href) is None
        assert _page_width_px(_page(href)) > 700


def test_the_portals_own_static_files_may_be_used() -> None:
    css = Path(settings.BASE_DIR) / "static" / "families" / "families.css"
    assert static_file_for(css.as_uri()) == css.resolve()
    assert static_file_for("file:///static/families/families.css") == css.resolve()
    assert html_to_pdf(_page(css.as_uri())).startswith(b"%PDF")


def test_inline_data_resources_still_work() -> None:
    """The check above is meaningful: the same stylesheet, inline, does shrink the page."""
    from base64 import b64encode

    href = "data:text/css;base64," + b64encode(SMALL_PAGE_CSS).decode()
    assert _page_width_px(_page(href)) == pytest.approx(100)
