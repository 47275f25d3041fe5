"""The production Docker files agree with the settings (no Docker engine runs the tests)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

DOCKER = Path(settings.BASE_DIR) / "docker"


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yaml").read_text()))


def test_compose_runs_every_role() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker-long", "worker-short", "beat"}
    for role in ("migrate", "web", "worker-long", "worker-short", "beat"):
        assert services[role]["command"] == [role]
        assert services[role]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[role]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis")
        assert services[role]["environment"]["CACHE_URL"].startswith("redis://redis")
        assert "media:/data/media" in services[role]["volumes"]
    for role in ("web", "worker-long", "worker-short", "beat"):
        assert services[role]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_only_the_web_service_publishes_a_port_and_only_on_loopback() -> None:
    services = _compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert list(published) == ["web"]
    assert all(port.startswith("127.0.0.1:") for port in published["web"])


def test_workers_listen_on_the_queues_the_settings_route_to() -> None:
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    long_queues = re.search(r"worker-long\)(.*?);;", entrypoint, re.S)
    short_queues = re.search(r"worker-short\)(.*?);;", entrypoint, re.S)
    assert long_queues and short_queues
    assert '-Q "${prefix}long"' in long_queues.group(1)
    assert '-Q "${prefix}short,${prefix}default"' in short_queues.group(1)
    queues = {queue.name: queue.routing_key for queue in settings.CELERY_TASK_QUEUES}
    prefix = os.environ.get("SER_QUEUE_PREFIX", "")  # the queues are declared at start-up
    assert set(queues) == {f"{prefix}long", f"{prefix}short", f"{prefix}default"}
    # One routing key per queue: a shared key would copy every task into every queue.
    assert all(queues[name] == name for name in queues)


def test_entrypoint_is_executable_and_the_image_runs_unprivileged() -> None:
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "DJANGO_SETTINGS_MODULE=ser_portal.settings.prod" in dockerfile
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = set((Path(settings.BASE_DIR) / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "docker/.env", "**/.env", "*.sqlite3"} <= ignored
    assert "analysis" not in ignored  # the shipped model lives there


def test_env_example_has_no_real_secrets() -> None:
    example = (DOCKER / "env.example").read_text()
    for line in example.splitlines():
        if re.match(r"^(DJANGO_SECRET_KEY|POSTGRES_PASSWORD|EMAIL_HOST_PASSWORD)=", line):
            assert line.endswith("=CHANGE-ME"), line
