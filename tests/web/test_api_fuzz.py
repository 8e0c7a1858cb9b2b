"""Schemathesis over /api/v1/openapi.json: no 5xx, and every response matches the schema."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.generation.case import Case

from shouhu.accounts.roles import Role
from shouhu.core import migrate
from shouhu.core.crypto.keyring import current_keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory, transaction
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import TEST_MASTER_KEY, drop_postgres_database, fresh_database_url
from tests.factories.accounts import api_token, make_user

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzz_target(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    """A committed database with an admin and their token, and the app's schema."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url = fresh_database_url(backend, tmp, "fuzz")
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    try:
        previous = current_keyring()
    except Exception:  # noqa: BLE001 - no keyring installed yet in this process
        previous = None
    with transaction(factory) as session:
        install_keyring(load_keyring(session, TEST_MASTER_KEY))
        admin = make_user(session, roles=(Role.ADMIN,))
        token = api_token(session, admin)
    app = create_app(settings=Settings(env="test", data_dir=tmp), sessions=factory, engine=engine)
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), token
    engine.dispose()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


def test_the_api_honours_its_schema(fuzz_target: tuple[schemathesis.BaseSchema, str]) -> None:
    # schemathesis.pytest.from_fixture does not work under pytest 9 (it reads a private
    # attribute pytest removed), so each operation gets its own Hypothesis run here, and
    # every failure is collected so one report names all the operations at fault.
    schema, token = fuzz_target
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # the whole API is explored, not an empty document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def explore(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            explore()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gathered, reported below
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_a_nul_byte_is_refused_as_input_on_every_backend(
    fuzz_target: tuple[schemathesis.BaseSchema, str],
) -> None:
    # Found by the fuzzer on PostgreSQL, which refuses NUL bytes in text: a 422, not a 500.
    schema, token = fuzz_target
    from fastapi.testclient import TestClient  # noqa: PLC0415

    app = schema.app
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/tokens",
            json={"name": "a\x00b", "days": 5},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"
        form = client.get("/sign-in").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        signin = client.post(
            "/sign-in",
            data={"username": "x\x00y", "password": "whatever!", "csrf_token": csrf.group(1)},
        )
        assert signin.status_code == 401  # the generic failure, not a database error
