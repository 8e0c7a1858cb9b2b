"""Extracting the translatable strings of the code and templates (for `make messages` and tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_dir

# Calls whose first argument is a message: gettext, the extraction marker, and every domain
# error (services raise them with English source text that the web layer translates).
KEYWORDS: dict[str, None] = dict.fromkeys(
    [
        "_",
        "gettext",
        "N_",
        "DomainError",
        "NotFoundError",
        "ForbiddenError",
        "AuthenticationError",
        "ValidationFailedError",
        "ConflictError",
        "PageAuthError",
        "CsrfError",
        "PasswordChangeRequiredError",
    ]
)
METHOD_MAP = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]


@dataclass(frozen=True)
class Message:
    """One translatable string and where it was found."""

    text: str
    location: str


def extract(package_dir: Path) -> Iterator[Message]:
    """Every translatable string under the package directory."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(package_dir),
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.do"}},
    ):
        text = message if isinstance(message, str) else message[0]
        if text:
            yield Message(text=text, location=f"{filename}:{lineno}")
