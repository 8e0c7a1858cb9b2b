"""Translations: English source strings, zh_CN (default) and en catalogs read from .po files."""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"

_current: ContextVar[str] = ContextVar("shouhu_language", default=DEFAULT_LANGUAGE)


@cache
def catalog(language: str) -> dict[str, str]:
    """The translations of one language, msgid → msgstr, read once from its .po file."""
    if language == "en":
        return {}
    path = resources.files("shouhu") / "locale" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and message.string and not message.fuzzy and isinstance(message.id, str)
    }


def set_language(language: str) -> None:
    """Set the language for the current request or command."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the current request or command."""
    return _current.get()


class Label(str):
    """A placeholder's value that is itself a source string (a field's label, say).

    `gettext` translates it with the message, so "Fill in {name}." reads 填写“事由”。 in
    Chinese, not a raw field name; `str.format` and an English reader see the English label.
    """

    __slots__ = ()


def gettext(message: str, **params: Any) -> str:
    """Translate into the current language and fill the named placeholders."""
    found = catalog(current_language())
    translated = found.get(message, message)
    if not params:
        return translated
    shown = {
        key: found.get(value, value) if isinstance(value, Label) else value
        for key, value in params.items()
    }
    return translated.format(**shown)


_ = gettext


def negotiate(accept_language: str | None) -> str:
    """Pick zh_CN or en from an Accept-Language header; zh_CN when unsure."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Mark a string for extraction without translating it yet (translated where shown)."""
    return message
