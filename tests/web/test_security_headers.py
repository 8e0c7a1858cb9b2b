"""Security headers on every kind of response, and error answers that leak nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Role
from shouhu.web.deps import PUBLIC
from tests.factories.accounts import api_token, make_user
from tests.web.conftest import SignedInClient

# Something an exception message might carry: a name and an identity number.
SECRET = "张三 110101199003071234 secret-detail"


def _add_exploding_routes(app: FastAPI) -> None:
    """Two routes that fail unexpectedly, a page and an API one."""

    @app.get("/explode", dependencies=[PUBLIC])
    def explode_page() -> None:
        raise RuntimeError(SECRET)

    @app.get("/api/v1/explode", dependencies=[PUBLIC])
    def explode_api() -> None:
        raise RuntimeError(SECRET)


@pytest.fixture
def exploding_client(app: FastAPI) -> Iterator[TestClient]:
    """A client of this test's app with routes that fail; it tolerates what reaches it."""
    _add_exploding_routes(app)
    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, follow_redirects=False
    ) as client:
        yield client


def _csp(response: Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


REQUIRED_HEADERS = (
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
)


def _assert_protected(response: Response) -> None:
    # ASVS 14.4: one policy on every response, whatever produced it.
    missing = [name for name in REQUIRED_HEADERS if name not in response.headers]
    assert missing == [], f"{response.status_code} response lacks {missing}"
    csp = _csp(response)
    scripts = csp.get("script-src", csp.get("default-src", []))
    assert scripts == ["'self'"], "scripts only from our own origin; no inline, no eval"
    assert not any("'unsafe-" in source for sources in csp.values() for source in sources)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    hsts = [part.strip() for part in response.headers["strict-transport-security"].split(";")]
    assert int(hsts[0].removeprefix("max-age=")) >= 365 * 24 * 3600
    assert "includeSubDomains" in hsts
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


REQUESTS = [
    ("GET", "/sign-in", 200),
    ("GET", "/", 401),
    ("POST", "/sign-in", 403),  # no CSRF token
    ("GET", "/no/such/page", 404),
    ("GET", "/healthz", 200),
    ("GET", "/api/v1/openapi.json", 200),
    ("GET", "/api/v1/me", 401),
    ("GET", "/api/v1/no/such/thing", 404),
    ("DELETE", "/api/v1/me", 405),
    ("GET", "/static/favicon.svg", 200),
]


@pytest.mark.parametrize(
    ("method", "path", "status"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS]
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    _assert_protected(response)


@pytest.mark.parametrize("path", ["/sign-in", "/api/v1/me", "/no/such/page"])
def test_pages_and_answers_are_never_cached(client: TestClient, path: str) -> None:
    # They may hold personal data; a shared or back-button cache must not keep them.
    assert client.get(path).headers["cache-control"] == "no-store"


def test_a_signed_in_page_carries_the_headers(
    signed_in: Callable[..., SignedInClient],
) -> None:
    web, _user, _csrf = signed_in()
    response = web.get("/account")
    assert response.status_code == 200
    _assert_protected(response)
    assert response.headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script(client: TestClient) -> None:
    page = client.get("/sign-in").text
    # Every <script> names a file under /static; nothing for 'unsafe-inline' to allow.
    for chunk in page.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert 'src="/static/' in tag
        assert chunk.split(">", 1)[1].startswith("</script>")
    assert " on" + "click=" not in page
    assert "javascript:" not in page


@pytest.mark.parametrize("path", ["/explode", "/api/v1/explode"])
def test_an_unexpected_error_answers_500_and_leaks_nothing(
    exploding_client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = exploding_client.get(path, headers={"accept-language": "en"})

    assert response.status_code == 500
    for leak in ("secret-detail", "110101199003071234", "张三", "Traceback", "RuntimeError"):
        assert leak not in response.text
    assert 'File "' not in response.text
    # The log names the kind of failure and where, never the message (it may hold personal data).
    assert "unhandled RuntimeError on GET" in caplog.text
    assert "secret-detail" not in caplog.text
    if path.startswith("/api/"):
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["status"], body["type"]) == (500, "https://shouhu.invalid/problems/internal")
        assert set(body) == {"type", "title", "status", "detail"}
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in response.text


@pytest.mark.parametrize("path", ["/explode", "/api/v1/explode"])
def test_an_unexpected_error_does_not_escape_to_the_server(app: FastAPI, path: str) -> None:
    # Whatever leaves the ASGI app, uvicorn logs with its traceback and message ("Exception in
    # ASGI application"), which may hold personal data (PIPL art. 51); the app logs the type.
    _add_exploding_routes(app)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=True) as client:
        response = client.get(path)  # raises here if the exception reached the server
    assert response.status_code == 500


@pytest.mark.parametrize("path", ["/explode", "/api/v1/explode"])
def test_an_unexpected_error_still_carries_the_security_headers(
    exploding_client: TestClient, path: str
) -> None:
    response = exploding_client.get(path)
    assert response.status_code == 500
    _assert_protected(response)
    assert response.headers["cache-control"] == "no-store"


def test_an_unknown_api_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-resource/12345", headers={"accept-language": "en"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not found"
    assert "12345" not in response.text  # the path is not echoed back


def test_an_unknown_page_is_a_page_not_json(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"accept-language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is nothing here, or you may not see it." in response.text


def test_an_anonymous_caller_learns_nothing_of_the_body_rules(client: TestClient) -> None:
    # Authentication is checked before the body: no hint of what a valid request looks like.
    response = client.post("/api/v1/tokens", json={"name": SECRET, "days": "many"})
    assert response.status_code == 401
    assert "errors" not in response.json()


def test_invalid_api_input_names_the_fields_without_echoing_the_values(
    client: TestClient, session: Session
) -> None:
    token = api_token(session, make_user(session, roles=(Role.INSTITUTION_HR,)))
    session.commit()

    response = client.post(
        "/api/v1/tokens",
        json={"name": SECRET + "\x1b", "days": 10_000},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == ["days", "name"]
    assert "secret-detail" not in response.text
    assert "110101199003071234" not in response.text
