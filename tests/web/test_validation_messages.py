"""An API client's malformed request is answered in its language, naming the field and what to
send instead: pydantic's English wording never reaches a Chinese reader."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shouhu.accounts.roles import Role
from shouhu.core.i18n import current_language, gettext, set_language
from shouhu.web.validation_messages import FALLBACK, MESSAGES, field_message
from tests.factories.accounts import api_token, make_user

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Read messages in `language`, then go back to the one before."""
    before = current_language()
    set_language(language)
    try:
        yield
    finally:
        set_language(before)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=4)
    count: int = Field(ge=1)


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        _Shape.model_validate(data)
    return [dict(error) for error in caught.value.errors()]


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        ({"count": 1}, "此项为必填项。", "This field is required."),
        ({"name": "abcdef", "count": 1}, "最多 4 个字符。", "Use at most 4 characters."),
        ({"name": "a", "count": 0}, "请填写不小于 1 的数。", "Give a number of at least 1."),
        ({"name": "a", "count": "x"}, "请填写整数。", "Give a whole number."),
        ({"name": "a", "count": 1, "more": 1}, "此处不接受该字段，请删除。", None),
    ],
)
def test_each_error_type_has_a_message_in_both_languages_with_its_limit(
    data: dict[str, Any], zh: str, en: str | None
) -> None:
    (error,) = _errors(data)
    with use_language("zh_CN"):
        assert field_message(error) == zh
    with use_language("en"):
        assert field_message(error) == (en or "This field is not accepted here; leave it out.")


def test_an_unknown_type_or_missing_context_falls_back_to_a_translated_hint() -> None:
    hint = "该值无效，请对照 API 文档检查。"
    with use_language("zh_CN"):
        assert field_message({"type": "no_such_type", "msg": "x"}) == hint
        assert field_message({"type": "string_too_long", "msg": "x"}) == hint


def test_a_validators_own_message_is_translated_without_pydantics_prefix() -> None:
    with use_language("zh_CN"):
        message = field_message({"type": "value_error", "msg": "Value error, Give a number."})
    assert message == "请填写数字。"


def test_every_message_has_a_chinese_translation() -> None:
    with use_language("zh_CN"):
        untranslated = [m for m in [*MESSAGES.values(), FALLBACK] if gettext(m) == m]
    assert untranslated == []


def test_the_api_names_the_field_and_says_what_to_send_in_the_readers_language(
    session: Session, client: TestClient
) -> None:
    admin = make_user(session, roles=(Role.ADMIN,))
    headers = {"Authorization": f"Bearer {api_token(session, admin)}"}
    session.commit()
    for language, expected in (("zh-CN", "此项为必填项。"), ("en", "This field is required.")):
        answer = client.post(
            "/api/v1/organisations",
            json={"org_type": "institution"},
            headers={**headers, "Accept-Language": language},
        )
        assert answer.status_code == 422
        problems = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert problems["name"] == expected
        assert "Field required" not in answer.text
