"""Static files: the partial Plotly bundle draws every chart type we use, every template names a
file that exists, and the demo (as production) serves them hashed, pre-compressed and cached.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.conftest import demo_environment

BUNDLE = "vendor/plotly/plotly-cartesian.min.js"
# The session page and the child page draw scatter and bar only: the smaller basic bundle.
BASIC = "vendor/plotly/plotly-basic.min.js"
CHART_MODULES = [
    "sessions/workspace/charts.py",
    "sessions/exercises/charts.py",
    "sessions/families/charts.py",
    "analysis/registry/charts.py",
]
SCRIPTS = ["static/workspace", "static/exercises", "static/js"]


def _bundle_trace_types(bundle: str = BUNDLE) -> set[str]:
    path = finders.find(bundle)
    assert path, f"{bundle} is not among the static files"
    text = Path(str(path)).read_text(encoding="utf-8")
    return set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', text))


def _trace_types_used(modules: list[str] = CHART_MODULES, folders: list[str] = SCRIPTS) -> set[str]:
    """Trace types named in the chart modules (``go.Bar(...)``, ``"type": "bar"``) and in our
    own scripts (``type: "bar"``), among all the trace types plotly knows."""
    known = dict(go.Figure()._data_validator.class_strs_map)  # trace type -> class name
    by_class = {cls: name for name, cls in known.items()}
    used: set[str] = set()
    base = Path(settings.BASE_DIR)
    sources = [base / module for module in modules]
    sources += [path for folder in folders for path in (base / folder).glob("*.js")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        used |= {by_class[c] for c in re.findall(r"\bgo\.([A-Z]\w*)\(", text) if c in by_class}
        named = re.findall(r"""["']?type["']?\s*:\s*["']([a-z0-9]+)["']""", text)
        used |= {t for t in named if t in known}
    return used


def test_the_partial_bundle_draws_every_trace_type_the_charts_use() -> None:
    used = _trace_types_used()
    # The charts really are found (a scan that finds nothing would prove nothing).
    assert {"scatter", "bar", "heatmap"} <= used
    assert used - _bundle_trace_types() == set()


def test_the_session_page_and_the_child_page_load_the_basic_bundle_that_draws_their_charts() -> (
    None
):
    used = _trace_types_used(["sessions/workspace/charts.py"], ["static/workspace"])
    assert {"scatter", "bar"} <= used
    assert used - _bundle_trace_types(BASIC) == set()
    # It is smaller than the cartesian bundle (and evaluates in well under half its time).
    assert _bundle_trace_types(BASIC) < _bundle_trace_types()
    templates = Path(settings.BASE_DIR, "templates", "workspace")
    for name in ("session_dashboard.html", "_child_trends.html"):
        text = (templates / name).read_text(encoding="utf-8")
        assert BASIC in text and BUNDLE not in text, name


def test_no_page_loads_the_full_plotly_bundle() -> None:
    assert finders.find("vendor/plotly/plotly.min.js") is None
    size = Path(str(finders.find(BUNDLE))).stat().st_size
    assert size < 1_600_000, f"the partial bundle is {size} bytes"


def test_every_static_file_a_template_names_exists() -> None:
    pattern = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")
    names: dict[str, str] = {}
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for name in pattern.findall(template.read_text(encoding="utf-8")):
            names[name] = str(template)
    assert BUNDLE in names
    missing = {name: where for name, where in names.items() if finders.find(name) is None}
    # With hashed names in production a missing file is an error on the page, not a 404.
    assert missing == {}


_SERVE = """
import json, django
django.setup()
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)
from django.templatetags.static import static
from django.test import Client
client = Client(HTTP_HOST="localhost")
url = static("vendor/plotly/plotly-cartesian.min.js")
out = {"url": url, "login_page": client.get("/accounts/login/").content.decode()}
for encoding in ("br", "gzip", ""):
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    out[encoding or "identity"] = {
        "status": response.status_code,
        "encoding": response.get("Content-Encoding", ""),
        "cache": response.get("Cache-Control", ""),
        "length": int(response["Content-Length"]),
    }
print(json.dumps(out))
"""


@pytest.mark.slow
def test_demo_serves_static_files_hashed_precompressed_and_cached_for_a_year(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVE],
        env=demo_environment(tmp_path),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    hashed = r"/static/vendor/plotly/plotly-cartesian\.min\.[0-9a-f]{12}\.js"
    assert re.fullmatch(hashed, out["url"])
    # The pages name the hashed files (here the login page's stylesheet).
    assert re.search(r"/static/css/portal\.[0-9a-f]{12}\.css", out["login_page"])
    assert (tmp_path / "static" / "staticfiles.json").exists()
    plain = out["identity"]
    assert plain["status"] == 200 and plain["encoding"] == ""
    for encoding in ("br", "gzip"):
        served = out[encoding]
        assert served["status"] == 200
        assert served["encoding"] == encoding
        assert served["length"] < plain["length"] * 0.4
        assert "max-age=315360000" in served["cache"] and "immutable" in served["cache"]
