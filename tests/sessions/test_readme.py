"""The README stays true: every environment variable, every demo login, the two commands."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from sessions.demo_data import DEMO_LOGINS, DEMO_PASSWORD

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text()
_ENV_READ = re.compile(
    r'(?:os\.environ(?:\.get|\.setdefault)?\s*[\(\[]|env_(?:bool|int|list)\()\s*"([A-Z0-9_]+)"'
)


def _variables_read_in(paths: list[Path]) -> set[str]:
    return {name for path in paths for name in _ENV_READ.findall(path.read_text())}


def test_every_environment_variable_of_the_settings_is_documented() -> None:
    names = _variables_read_in(sorted((ROOT / "ser_portal" / "settings").glob("*.py")))
    assert len(names) > 30
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_every_variable_of_the_docker_files_is_documented() -> None:
    text = (ROOT / "docker" / "entrypoint.sh").read_text() + (
        ROOT / "docker" / "compose.yaml"
    ).read_text()
    names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))
    assert {"GUNICORN_WORKERS", "POSTGRES_PASSWORD"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert missing == [], f"add these to the README: {missing}"


def test_demo_logins_are_listed() -> None:
    assert f"**`{DEMO_PASSWORD}`**" in README
    for login in DEMO_LOGINS:
        assert f"`{login.email}`" in README


def test_the_two_commands_and_ci() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert "`make demo`" in README
    assert "`make test`" in README
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-1] == "make test"


def test_feature_sections_are_in_place() -> None:
    for section in (
        "## Analysis pipeline",
        "## Emotion models",
        "## Therapist workspace",
        "## Families, consent and reports",
        "## Practice exercises",
    ):
        assert f"\n{section}\n" in README


def test_env_example_only_names_documented_variables() -> None:
    example = (ROOT / "docker" / "env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert "DJANGO_SECRET_KEY" in names
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert missing == [], missing
