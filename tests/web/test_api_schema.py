"""The v1 API against its own OpenAPI document, in-process with Schemathesis.

`test_api_fuzz.py` sends schema-valid requests with random ids. These tests go further: the
same requests aimed at objects that exist (so updates, role changes and revocations run),
schema-invalid requests (each must be refused with a documented 4xx), requests without a
token (each must be a 401 problem), and the document itself (what an integrator reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.tokens import create_token
from shouhu.accounts.users import principal_for
from shouhu.core import migrate
from shouhu.core.crypto.keyring import current_keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory, transaction
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.screening.certificates import current_certificate, display_code
from shouhu.screening.inquiries import submit_inquiry
from shouhu.web.app import create_app
from tests.conftest import TEST_MASTER_KEY, drop_postgres_database, fresh_database_url
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.onestop import make_site
from tests.factories.registry import prc_number
from tests.web.inquiry_page_cases import request_for

CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
REJECTION = [*CONFORMANCE, checks.negative_data_rejection]
# Bounded: about 25 examples per operation and mode keeps the module well under a minute.
EXAMPLES = 25


@dataclass(frozen=True)
class Target:
    """The app's schema, an operator's token, and ids of objects that exist."""

    schema: schemathesis.BaseSchema
    token: str
    path_ids: dict[str, str]

    @property
    def auth(self) -> dict[str, str]:
        """The operator's bearer header."""
        return {"Authorization": f"Bearer {self.token}"}

    def operations(self) -> list[APIOperation]:
        """Every operation of the document."""
        return [result.ok() for result in self.schema.get_all_operations()]


@pytest.fixture(scope="module")
def target(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A committed database of its own with an operator, a school, a user and a spare token."""
    tmp = tmp_path_factory.mktemp("schema")
    url = fresh_database_url(backend, tmp, "schema")
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
        authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
        school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
        staff = make_user(session, roles=(Role.INSTITUTION_HR,), org=school)
        # A second token of the operator's, for the revocation route to revoke.
        spare = create_token(
            session, actor=system_principal("cli"), user_id=admin.id, name="spare", days=30
        ).row.id
        # An answered inquiry, for the public certificate check to find.
        university = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
        asker = make_user(session, roles=(Role.INSTITUTION_HR,), org=university)
        inquiry = submit_inquiry(
            session,
            actor=principal_for(asker, "api"),
            request=request_for(prc_number("440106", date(1991, 2, 3), 13)),
            settings=Settings(data_dir=tmp),
        )
        certificate = current_certificate(session, inquiry.id)
        assert certificate is not None
        # A one-stop site, for the operator's directory routes to reach.
        site = make_site(session)
        path_ids = {
            "site_id": str(site.id),
            "org_id": str(school.id),
            "user_id": str(staff.id),
            "token_id": str(spare),
            "code": display_code(certificate.code),
        }
    app = create_app(settings=Settings(env="test", data_dir=tmp), sessions=factory, engine=engine)
    yield Target(schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), token, path_ids)
    engine.dispose()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


def _explore(
    operation: APIOperation,
    strategy_kwargs: dict[str, Any],
    examine: Callable[[Case], None],
    examples: int = EXAMPLES,
) -> str | None:
    """Run one operation's examples; the failure as text, or None."""

    @given(case=operation.as_strategy(**strategy_kwargs))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def explore(case: Case) -> None:
        examine(case)

    try:
        explore()
    # Schemathesis raises a FailureGroup, a BaseExceptionGroup (not an Exception); both are
    # gathered so that one report names every operation at fault.
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
        return f"{operation.label}: {type(exc).__name__}: {exc}"
    return None


def _assert_none(failures: list[str | None]) -> None:
    found = [f for f in failures if f]
    assert not found, "\n\n".join(found)


def _with_ids(operation: APIOperation, target: Target) -> dict[str, str]:
    names = {p.name for p in operation.path_parameters}
    return {name: value for name, value in target.path_ids.items() if name in names}


def test_every_operation_on_existing_objects_honours_the_schema(target: Target) -> None:
    # Random ids only reach the 404 branch; real ids make the updates themselves run.
    statuses: dict[str, set[int]] = {}

    def examine(case: Case) -> None:
        response = case.call_and_validate(headers=target.auth, checks=CONFORMANCE)
        statuses.setdefault(case.operation.label, set()).add(response.status_code)

    operations = [op for op in target.operations() if op.path_parameters]
    failures = [
        _explore(operation, {"path_parameters": _with_ids(operation, target)}, examine)
        for operation in operations
    ]
    _assert_none(failures)
    # Each operation reached its object at least once (else this test only saw 404s).
    assert {op.label for op in operations} == {
        label for label, seen in statuses.items() if seen - {404}
    }


def _refuse_invalid(case: Case, target: Target) -> None:
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    # When the generator made the headers the invalid part (it drops Authorization, now that
    # the document declares it), adding the token back would make the request valid again.
    headers_invalid = header is not None and header.mode is GenerationMode.NEGATIVE
    case.call_and_validate(headers=None if headers_invalid else target.auth, checks=REJECTION)


def test_invalid_input_is_refused_with_a_documented_4xx(target: Target) -> None:
    failures = [
        _explore(
            operation,
            {"generation_mode": GenerationMode.NEGATIVE},
            lambda case: _refuse_invalid(case, target),
        )
        for operation in target.operations()
        # An operation without inputs has nothing to get wrong.
        if operation.path_parameters or operation.query or operation.body
    ]
    _assert_none(failures)


def _refused_without_a_token(case: Case) -> None:
    for headers in ({}, {"Authorization": "Bearer shh_made-up"}, {"Authorization": "Basic eDp5"}):
        response = case.call(headers=headers)
        assert response.status_code == 401, (case.operation.label, headers, response.text)
        # RFC 6750 §3 and RFC 9457: say which scheme, and answer as a problem.
        assert response.headers.get("www-authenticate") == ["Bearer"]
        assert response.headers.get("content-type") == ["application/problem+json"]
        assert response.json()["status"] == 401


def _is_open(operation: APIOperation) -> bool:
    """Declared open to anyone (an empty `security`): checking a certificate, its public key."""
    return operation.definition.raw.get("security") == []


def test_every_operation_refuses_a_caller_without_a_valid_token(target: Target) -> None:
    failures = [
        _explore(operation, {}, _refused_without_a_token, examples=5)
        for operation in target.operations()
        if not _is_open(operation)
    ]
    _assert_none(failures)


# --- the document an integrator reads -----------------------------------------------------------


@pytest.fixture(scope="module")
def document(target: Target) -> dict[str, Any]:
    """The raw OpenAPI document."""
    raw: dict[str, Any] = target.schema.raw_schema
    return raw


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def test_the_document_covers_the_whole_api_and_only_the_api(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert all(path.startswith("/api/v1/") for path in paths)
    assert {
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/organisations",
        "/api/v1/users",
        "/api/v1/users/{user_id}/roles",
    } <= paths
    assert document["openapi"].startswith("3.")
    assert "Bearer" in document["info"]["description"]


def test_every_operation_documents_its_refusals_as_problems(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        # An open operation refuses nobody; what it takes, it refuses with a 422 (if anything).
        refusals = ("422",) if operation.get("security") == [] else ("401", "403", "422")
        if operation.get("security") == [] and not operation.get("parameters"):
            refusals = ()
        for status in refusals:
            assert status in responses, f"{method} {path} does not document {status}"
            assert set(responses[status]["content"]) == {"application/problem+json"}, (
                f"{method} {path} {status}"
            )
        assert operation.get("summary") or operation.get("description"), f"{method} {path}"
        assert operation.get("tags"), f"{method} {path} has no tag"


def test_the_document_declares_bearer_authentication(document: dict[str, Any]) -> None:
    # An integrator's generated client only sends the token if the document asks for it
    # (OpenAPI 3.1 §4.8.27 and §4.8.10 `security`); the description alone is not enough.
    schemes = document.get("components", {}).get("securitySchemes", {})
    bearer = [
        name for name, s in schemes.items() if (s["type"], s.get("scheme")) == ("http", "bearer")
    ]
    assert bearer, "no http bearer security scheme in components.securitySchemes"
    for method, path, operation in _operations(document):
        if operation.get("security") == []:
            # Only checking certificates is open to anyone (issue 5: no sign-in).
            assert path.startswith("/api/v1/certificates/"), f"{method} {path} is open"
            continue
        required = operation.get("security", document.get("security", []))
        assert any(set(entry) & set(bearer) for entry in required), f"{method} {path}"
