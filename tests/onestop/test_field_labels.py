"""Refusals name a field by its label in the reader's language, never by its code; the home
page's due-soon window is said from the one constant that sets it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shouhu.core.errors import ValidationFailedError
from shouhu.core.i18n import current_language, gettext, set_language
from shouhu.onestop import checks
from shouhu.onestop.deadlines import DUE_SOON, DUE_SOON_HOURS
from shouhu.onestop.evidence import _text


@pytest.fixture
def language() -> Iterator[None]:
    """Restore the language a test changes."""
    before = current_language()
    yield
    set_language(before)


def _shown(exc: ValidationFailedError) -> str:
    return gettext(exc.message, **exc.params)


def test_an_evidence_refusal_names_the_field_by_its_translated_label(language: None) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        _text("  ", "description", 100)
    assert caught.value.field == "description"
    set_language("zh_CN")
    assert _shown(caught.value) == "请填写“描述”。"
    set_language("en")
    assert _shown(caught.value) == "Fill in Description."
    with pytest.raises(ValidationFailedError) as long:
        _text("x" * 11, "place", 10)
    set_language("zh_CN")
    assert _shown(long.value) == "“地点”超过 10 个字符。"


def test_a_one_stop_check_names_a_nested_field_by_its_label(language: None) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        checks.line("", field="children.0.guardian_relationship", limit=20)
    assert caught.value.field == "children.0.guardian_relationship"
    set_language("zh_CN")
    assert _shown(caught.value) == "“与儿童的关系”为必填项。"
    assert "guardian" not in _shown(caught.value)
    with pytest.raises(ValidationFailedError) as reason:
        checks.text(" ", field="reason", limit=20)
    assert _shown(reason.value) == "“理由”为必填项。"


def test_the_due_soon_window_is_one_number() -> None:
    assert DUE_SOON.total_seconds() == DUE_SOON_HOURS * 3600
