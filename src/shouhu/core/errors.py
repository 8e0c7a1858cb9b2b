"""Domain errors: raised by services, turned into pages or problem details by the web layer.

Each message is an English source string (a translation key) with named placeholders, so the
web layer can translate it into the reader's language.
"""

from __future__ import annotations

from typing import Any

from shouhu.core.i18n import N_


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, persist: bool = False, **params: Any
    ) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.field = field
        self.params = params
        # A refusal that must leave a trace (a failed sign-in, its audit event) asks the
        # unit of work to commit what was written before it was raised.
        self.persist = persist


class NotFoundError(DomainError):
    """The object does not exist, or the principal may not see it (the same answer)."""

    status_code = 404
    code = "not_found"


class ForbiddenError(DomainError):
    """The principal is known but lacks the permission."""

    status_code = 403
    code = "forbidden"


class AuthenticationError(DomainError):
    """The caller is not (or no longer) authenticated."""

    status_code = 401
    code = "unauthenticated"


class ValidationFailedError(DomainError):
    """Input broke a rule; `field` names where."""

    status_code = 422
    code = "invalid"


class ConflictError(DomainError):
    """The change clashes with what is stored (a duplicate name, a wrong state)."""

    status_code = 409
    code = "conflict"


class FieldsInvalidError(ValidationFailedError):
    """Several fields broke their rules at once; `problems` maps each field to what is wrong.

    The message names the first; pages and problem details list them all.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        first = next(iter(problems))
        super().__init__(
            N_("Check the field {name}: {problem}"),
            field=first,
            name=first,
            problem=problems[first],
        )
        self.problems = problems
