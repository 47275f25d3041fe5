"""Property-based requests from our own OpenAPI schema (schemathesis), as every persona.

The schema is generated from the code (drf-spectacular, as ``/api/schema/`` serves it); every
operation gets bounded, seeded examples, sent over HTTP to a live server on 127.0.0.1 with the
persona's API token (staff tokens obtained with a one-time code, as production requires). Path
parameters are the cast's real ids half of the time, so examples reach past the 404s. Each
response is checked for a 5xx and against the schema (status code documented, content type,
body, headers). The figures are printed; the test fails on any 5xx or violation.
"""

from __future__ import annotations

import copy
import functools
import time
from collections import Counter
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import checks as sc

from tests.conftest import PERSONAS, Cast, grant_consent
from tests.sessions.totp import current_code, enrol_totp

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "fuzz-pass-12345"
# Per operation, persona and mode (valid and invalid input): about 2,000 requests in all.
EXAMPLES = 6
CHECKS = [
    sc.not_a_server_error,
    sc.status_code_conformance,
    sc.content_type_conformance,
    sc.response_schema_conformance,
    sc.response_headers_conformance,
]


@functools.cache
def _schema() -> Any:
    """The schema once per process: the drawn examples below belong to its operations."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(document)


def _real_ids(cast: Cast) -> dict[str, list[str]]:
    """Ids of the cast's objects, by the path parameter that names them."""
    from sessions.workspace.models import ChunkedUpload
    from tests.exercises.factories import done_attempt, make_assignment, make_exercise
    from tests.workspace.factories import done_run

    done_run(cast.recording, segments=4)
    upload = ChunkedUpload.objects.create(
        session=cast.session, created_by=cast.therapist, filename="clip.wav", size_bytes=1000
    )
    assignment = make_assignment(cast.child, make_exercise(cast.clinic, with_audio=True))
    attempt = done_attempt(assignment)
    from sessions.families import services as family_services

    report = family_services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=cast.session.date,
        period_end=cast.session.date,
        sessions=[cast.session],
    )
    child, session = str(cast.child.pk), str(cast.session.pk)
    return {
        "id": [child, session],
        "child": [child],
        "child_id": [child],
        "report_id": [str(report.pk)],
        "exercise_id": [str(assignment.exercise_id)],
        # Not "recording": revoking it would erase the recording the other examples use.
        "purpose": ["analysis", "training"],
        "filename": ["segments.csv", "analysis.json"],
        "session_id": [session],
        "recording_id": [str(cast.recording.pk)],
        "upload_id": [str(upload.pk)],
        "assignment_id": [str(assignment.pk)],
        "attempt_id": [str(attempt.pk)],
    }


def _token(cast: Cast, persona: str, base_url: str) -> str | None:
    """The persona's token from the token endpoint (staff send a TOTP code); None: anonymous."""
    user = cast.user(persona)
    if user is None:
        return None
    user.set_password(PASSWORD)
    user.save()
    body = {"email": user.email, "password": PASSWORD}
    if persona not in ("guardian", "other_guardian"):
        body["otp"] = current_code(enrol_totp(user))
    response = requests.post(base_url + TOKEN_URL, json=body, timeout=30)
    assert response.status_code == 200, (persona, response.text)
    token: str = response.json()["token"]
    return token


def _throwaway_token(cast: Cast) -> str:
    """For DELETE /auth/token/: ending it must not end the persona's own token."""
    from sessions import tokens

    return tokens.token_issue(user=cast.guardian, mfa_verified=True)


# Examples drawn per (operation, mode), once per process: hypothesis draws them derandomized,
# so every persona got the same ones anyway, and drawing (hypothesis-jsonschema) was about half
# of each persona's time. None: the mode has nothing to draw (no invalid input).
_DRAWN: dict[tuple[str, str, str], list[tuple[Any, int, int]] | None] = {}


def _drawn(operation: Any, mode: Any) -> list[tuple[Any, int, int]] | None:
    """EXAMPLES seeded examples of one operation and mode: (case, seed, pick) each, where seed
    (0-3) says whether the cast's real ids replace the generated ones (three times in four) and
    pick which of them."""
    key = (operation.method, operation.path, str(mode))
    if key not in _DRAWN:
        drawn: list[tuple[Any, int, int]] = []

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode), seed=st.integers(0, 3), pick=st.integers(0, 1))
        def draw(case: Any, seed: int, pick: int) -> None:
            drawn.append((case, seed, pick))

        try:
            draw()
        except hypothesis.errors.Unsatisfiable:
            _DRAWN[key] = None
        else:
            _DRAWN[key] = drawn
    return _DRAWN[key]


def _copy_case(case: Any) -> Any:
    """A copy of a drawn case to send and mutate: its containers (and the metadata tracking
    changes to them) copied, its operation shared. ``Case`` has slots and refuses attribute
    writes before its metadata exists, so neither ``copy.deepcopy`` nor a constructor call fits."""
    copied = object.__new__(type(case))
    for slot in type(case).__slots__:
        value = getattr(case, slot)
        object.__setattr__(copied, slot, value if slot == "operation" else copy.deepcopy(value))
    return copied


@pytest.fixture
def mfa_required(settings: Any) -> None:
    settings.MFA_REQUIRED_FOR_STAFF = True


def test_schema_documents_the_errors_every_endpoint_answers(db: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == TOKEN_URL:
                continue  # no login needed; its own errors are declared on the view
            for status in ("401", "403", "404"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                body = schemas[ref["$ref"].rsplit("/", 1)[-1]]
                assert "detail" in body["properties"], (method, path, status)
    token = document["paths"][TOKEN_URL]["post"]["responses"]
    assert {"200", "400", "429"} <= set(token)
    # A relative URL is not a URI: the schema must not promise one.
    feedback = document["components"]["schemas"]["AttemptFeedback"]["properties"]
    assert "format" not in feedback["status_url"]


# One test per persona, each on a fresh cast, so pytest-xdist spreads the ~2,000 requests.
@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_fuzzed_requests_of_every_persona_get_no_5xx_and_match_the_schema(
    persona: str, cast: Cast, live_server: Any, mfa_required: None
) -> None:
    grant_consent(cast.child)
    ids = _real_ids(cast)
    persona_token = _token(cast, persona, live_server.url)
    schema = _schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: Counter[tuple[str, str, int, str]] = Counter()
    examples: dict[tuple[str, str, int, str], str] = {}
    no_invalid_input: set[str] = set()
    started = time.monotonic()

    def fuzz(operation: Any, mode: Any) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        drawn = _drawn(operation, mode)
        if drawn is None:
            # An operation without parameters or body has no invalid input to send.
            assert mode is schemathesis.GenerationMode.NEGATIVE, label
            no_invalid_input.add(label)
            return
        for template, seed, pick in drawn:
            # Each persona mutates its own copy; the operation (and its schema) is shared.
            case = _copy_case(template)
            if seed:  # three times in four
                body = case.body if isinstance(case.body, dict) else None
                containers = [case.path_parameters, case.query, body]
                for container in (c for c in containers if c):
                    for name in list(container):
                        if name in ids:
                            container[name] = ids[name][pick % len(ids[name])]
            headers = dict(case.headers or {})
            token = persona_token
            if label == f"DELETE {TOKEN_URL}" and token:
                token = _throwaway_token(cast)
            if token:
                headers["Authorization"] = f"Token {token}"
            response = case.call(base_url=live_server.url, headers=headers, timeout=60)
            sent[persona] += 1
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group
                for failure in getattr(exc, "exceptions", [exc]):
                    key = (persona, label, response.status_code, type(failure).__name__)
                    failures[key] += 1
                    examples.setdefault(key, str(failure)[:600])

    runs = [(o, m) for o in operations for m in schemathesis.GenerationMode]
    for operation, mode in runs:
        fuzz(operation, mode)

    elapsed = time.monotonic() - started
    total = sum(sent.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    violations = sum(failures.values())
    print(
        f"\nAPI fuzzing: {total} requests (valid and invalid input) on {len(operations)} "
        f"operations as {persona} in {elapsed:.0f} s; "
        f"statuses {dict(sorted(statuses.items()))}; 5xx: {server_errors}; "
        f"failed checks: {violations}; no invalid input to send: {len(no_invalid_input)} operations"
    )
    for key, count in sorted(failures.items()):
        print(f"  {count:4} x {key}: {examples[key]}")
    assert total >= len(runs)
    assert server_errors == 0
    assert violations == 0
