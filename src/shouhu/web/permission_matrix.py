"""The permission matrix, generated from the routes and role policies (docs/permissions.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from shouhu.accounts.roles import PERMISSIONS, Permission, Role
from shouhu.web.deps import Authorization

HEADER = """# Permission matrix

Generated from the code by `make docs` (`python -m shouhu.web.permission_matrix`); a test fails
when this file and the routes or policies disagree. Every route declares exactly one
authorisation: a permission checked against the signed-in user's roles (pages, with a CSRF token
on every form) or the bearer token's user (API), the sign-in flow, or public.

An object a user may not see answers 404, exactly like one that does not exist; operators
(`admin`) manage accounts and see no registry or case content.
"""


def authorizations(dependant: Dependant) -> Iterator[Authorization]:
    """Every authorisation dependency in a route's dependency tree."""
    for sub in dependant.dependencies:
        if isinstance(sub.call, Authorization):
            yield sub.call
        yield from authorizations(sub)


@dataclass(frozen=True)
class AppRoute:
    """A route as served: full path (router prefixes applied), methods and dependencies."""

    path: str
    methods: frozenset[str]
    dependant: Dependant | None


def app_routes(app: FastAPI) -> list[AppRoute]:
    """Every route of the app, flattened through included routers; mounts have no methods."""
    found = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if not isinstance(context.original_route, APIRoute):
            dependant = None
        found.append(AppRoute(str(context.path), frozenset(context.methods or ()), dependant))
    return found


@dataclass(frozen=True)
class RouteRule:
    """Who may call one route."""

    methods: str
    path: str
    kind: str
    permission: Permission | None


def route_rules(app: FastAPI) -> list[RouteRule]:
    """One rule per route; raises if a route has no authorisation or more than one."""
    rules: list[RouteRule] = []
    for route in app_routes(app):
        if route.dependant is None:
            continue
        found = list(authorizations(route.dependant))
        kinds = {(a.kind, a.permission) for a in found}
        if len(kinds) != 1:
            raise LookupError(f"{route.path} has {len(kinds)} authorisations, needs exactly 1")
        kind, permission = kinds.pop()
        rules.extend(RouteRule(m, route.path, kind, permission) for m in sorted(route.methods))
    return sorted(rules, key=lambda r: (r.path, r.methods))


def render(app: FastAPI) -> str:
    """The markdown of docs/permissions.md."""
    roles = list(Role)
    lines = [HEADER, "## Permissions by role", ""]
    lines.append("| permission | " + " | ".join(r.value for r in roles) + " |")
    lines.append("| --- |" + " :---: |" * len(roles))
    for permission, holders in PERMISSIONS.items():
        cells = ["✓" if role in holders else "" for role in roles]
        lines.append(f"| `{permission.value}` | " + " | ".join(cells) + " |")
    lines += ["", "## Routes", "", "| method | path | access | permission |"]
    lines.append("| --- | --- | --- | --- |")
    for rule in route_rules(app):
        needed = f"`{rule.permission.value}`" if rule.permission else "—"
        lines.append(f"| {rule.methods} | `{rule.path}` | {rule.kind} | {needed} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the matrix for an app built with throwaway settings."""
    import sys  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from shouhu.core.database import make_engine, make_session_factory  # noqa: PLC0415
    from shouhu.core.settings import Settings  # noqa: PLC0415
    from shouhu.web.app import create_app  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'matrix.db'}")
        app = create_app(
            settings=Settings(env="test", data_dir=Path(tmp)),
            sessions=make_session_factory(engine),
            engine=engine,
        )
        sys.stdout.write(render(app))
        engine.dispose()


if __name__ == "__main__":
    main()
