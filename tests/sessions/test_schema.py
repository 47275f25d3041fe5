"""The OpenAPI 3 schema at /api/schema/ generates, validates and documents the foundation API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(cast: Cast) -> dict[str, Any]:
    client = APIClient()
    client.force_authenticate(cast.therapist)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_schema_validates_against_the_openapi_3_specification(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema


def test_yaml_is_the_default_format_and_the_same_schema(cast: Cast, schema: dict[str, Any]) -> None:
    client = APIClient()
    client.force_authenticate(cast.admin)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content) == schema


def test_schema_needs_an_account(db: Any) -> None:
    assert APIClient().get("/api/schema/").status_code == 401


def test_foundation_endpoints_are_documented(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    assert set(paths["/api/v1/auth/token/"]) == {"post", "delete"}
    assert set(paths["/api/v1/children/"]) == {"get"}
    assert set(paths["/api/v1/children/{id}/"]) == {"get"}
    assert set(paths["/api/v1/sessions/"]) == {"get", "post"}
    assert set(paths["/api/v1/sessions/{id}/"]) == {"get"}
    parameters = {p["name"] for p in paths["/api/v1/sessions/"]["get"]["parameters"]}
    assert {"child", "page"} <= parameters


def test_token_authentication_is_described(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["type"] == "apiKey"
    assert schemes["tokenAuth"]["in"] == "header"
    assert schemes["tokenAuth"]["name"] == "Authorization"
    token_request = schema["components"]["schemas"]["TokenRequestRequest"]
    assert set(token_request["properties"]) == {"email", "password", "otp"}
    assert set(token_request["required"]) == {"email", "password"}
    token_post = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token_post.get("security") in (None, [], [{}])  # no credentials needed to log in


def test_lists_are_documented_as_paginated(schema: dict[str, Any]) -> None:
    listing = schema["paths"]["/api/v1/children/"]["get"]["responses"]["200"]
    ref = listing["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    page = schema["components"]["schemas"][ref]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    child_ref = page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert {"id", "code", "display_name"} <= set(
        schema["components"]["schemas"][child_ref]["properties"]
    )


def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    """drf-spectacular's own check: every endpoint of every app is typed and resolvable."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert yaml.safe_load(target.read_text())["info"]["title"] == "SER Portal API"
