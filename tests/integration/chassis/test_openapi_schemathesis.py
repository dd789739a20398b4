"""Schemathesis against the example service: no 500s, responses conform to /openapi.json.

Bounded: 50 examples per operation, fixed seed, one worker, a subprocess timeout. Checks run:
no server error, documented status codes, content types, response headers and response
schemas. ``positive_data_acceptance`` is not run: cursors are opaque (a random string is
rightly a 400) and msgspec's strict ``int`` refuses integral floats such as ``10.0``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from nexus.web import ServerThread, ServiceApp
from tests.integration.chassis.example_app import Store, build_app

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, ServiceApp]]:
    app = build_app(Store())
    with ServerThread(app) as server:
        yield server.url, app


def test_served_openapi_validates_as_3_1(served: tuple[str, ServiceApp]) -> None:
    document = httpx.get(served[0] + "/openapi.json").json()
    validate(document, cls=OpenAPIV31SpecValidator)


def test_schemathesis_finds_no_server_error_or_schema_violation(
    served: tuple[str, ServiceApp], tmp_path: Path
) -> None:
    url, app = served
    token = app.authenticator.issue_token("fuzzer", ["admin"])
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "50",
            "--seed",
            "20261125",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.split("Test cases:")[-1]
    assert "passed" in summary and "failed" not in summary, result.stdout[-4000:]
