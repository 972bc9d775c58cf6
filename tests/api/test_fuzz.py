"""Fuzz the REST API from its own OpenAPI schema (schemathesis): no request it can generate,
valid or not, gets a 5xx. Bounded: a handful of examples per operation, derandomised."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from socialcrm.api import create_app

from .conftest import Built

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_EXAMPLES = 6


@pytest.fixture(scope="module")
def api_schema(built_workspace: Built, tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    shutil.copy(built_workspace.path, db)
    app = create_app(db, web=False, refresh_interval=5.0)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_no_server_error_on_any_generated_request(api_schema: Any, built_workspace: Built) -> None:
    """Every operation, ``MAX_EXAMPLES`` generated requests each, as an admin (so requests get
    past authorisation into the handlers). Operations are driven one by one with Hypothesis
    (schemathesis' lazy pytest loader does not support pytest 9 yet)."""
    headers = {"Authorization": f"Bearer {built_workspace.tokens['admin']}"}
    failures: list[str] = []
    tried = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:500]}")
        tried += 1
    assert tried >= 30
    assert failures == [], "\n".join(failures)
