"""The zh_CN catalog is complete, current and consistent, and the pages use it in both languages."""

from __future__ import annotations

import re
import string
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.pofile import read_po
from markupsafe import escape

import shouhu
from shouhu.core.i18n import (
    DEFAULT_LANGUAGE,
    catalog,
    current_language,
    gettext,
    negotiate,
    set_language,
)
from shouhu.core.i18n_catalog import KEYWORDS, extract
from shouhu.web.templating import environment

PACKAGE_DIR = Path(shouhu.__file__).parent
MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
HAN = re.compile(r"[\u4e00-\u9fff]")


@cache
def extracted() -> dict[str, tuple[str, ...]]:
    """Every translatable string in the code and templates, with where it is used."""
    found: dict[str, list[str]] = defaultdict(list)
    for message in extract(PACKAGE_DIR):
        found[message.text].append(message.location)
    return {text: tuple(locations) for text, locations in found.items()}


@cache
def po_file() -> Catalog:
    """The zh_CN .po file as it ships, fuzzy and obsolete entries included."""
    path = resources.files("shouhu") / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def po_entries() -> Iterator[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every current entry of the .po file, header excluded."""
    for message in po_file():
        if message.id and isinstance(message.id, str):
            yield message.id, str(message.string or ""), message.fuzzy


def placeholders(text: str) -> set[tuple[str, str, str | None]]:
    """The `{name!conversion:spec}` fields of a str.format string."""
    return {
        (field, spec or "", conversion)
        for _literal, field, spec, conversion in string.Formatter().parse(text)
        if field is not None
    }


@pytest.fixture
def language() -> Iterator[None]:
    """Tests that switch the language put the default back for the tests after them."""
    yield
    set_language(DEFAULT_LANGUAGE)


# --- the catalog is complete --------------------------------------------------------------


def test_extraction_finds_the_known_sources() -> None:
    # Guards the completeness test below: an extraction that found nothing would pass it.
    found = extracted()
    assert any("accounts/templates/accounts/sign_in.html" in loc for loc in found["Sign in"])
    assert any("accounts/roles.py" in loc for loc in found["Registry clerk"])
    # Domain errors are extracted too (KEYWORDS): services raise them with English text.
    assert any("accounts/users.py" in loc for loc in found["This username is taken."])


def test_every_extracted_message_has_a_zh_cn_translation() -> None:
    translations = catalog("zh_CN")
    missing = {text: locs for text, locs in extracted().items() if not translations.get(text)}
    listing = "\n".join(
        f"  {text!r}  ({', '.join(locs)})" for text, locs in sorted(missing.items())
    )
    assert not missing, (
        f"{len(missing)} message(s) have no zh_CN translation (run `make messages` and translate "
        f"them in src/shouhu/locale/zh_CN/LC_MESSAGES/messages.po):\n{listing}"
    )


def test_no_entry_is_fuzzy_or_empty() -> None:
    # catalog() silently drops fuzzy and empty entries, so check the file itself.
    bad = [msgid for msgid, msgstr, fuzzy in po_entries() if fuzzy or not msgstr.strip()]
    assert not bad, "fuzzy or empty zh_CN entries:\n" + "\n".join(f"  {m!r}" for m in bad)


def test_no_entry_is_obsolete() -> None:
    used = extracted()
    unused = sorted(msgid for msgid, _msgstr, _fuzzy in po_entries() if msgid not in used)
    commented_out = sorted(str(key) for key in po_file().obsolete)
    assert not unused, "msgids no longer used in the code (run `make messages`):\n" + "\n".join(
        f"  {m!r}" for m in unused
    )
    assert not commented_out, "obsolete #~ entries left in the .po file:\n" + "\n".join(
        f"  {m!r}" for m in commented_out
    )


def test_make_messages_extracts_every_keyword_the_tests_check() -> None:
    # `make messages` must find what extract() finds, or the missing list could not be fixed
    # by running it: every keyword is either a pybabel default or passed with -k.
    target = MAKEFILE.read_text(encoding="utf-8").split("\nmessages:", 1)[1].split("\n\n", 1)[0]
    passed = set(re.findall(r"-k (\S+)", target))
    assert set(KEYWORDS) - set(DEFAULT_KEYWORDS) - passed == set()


# --- the translations are well formed ------------------------------------------------------


def test_placeholders_helper_reads_names_specs_and_conversions() -> None:
    assert placeholders("{a} and {b!r:>3} {{literal}}") == {("a", "", None), ("b", ">3", "r")}
    assert placeholders("no fields") == set()


def test_every_translation_keeps_the_placeholders_of_its_msgid() -> None:
    wrong = []
    for msgid, msgstr, _fuzzy in po_entries():
        try:
            if placeholders(msgstr) != placeholders(msgid):
                wrong.append(f"  {msgid!r} -> {msgstr!r}")
        except ValueError as exc:  # an unbalanced brace would make gettext(**params) raise
            wrong.append(f"  {msgid!r} -> {msgstr!r}: {exc}")
    assert not wrong, "placeholders differ between msgid and translation:\n" + "\n".join(wrong)


def test_every_translation_is_chinese() -> None:
    # An English string pasted in as its own translation would pass the completeness test.
    english = [f"  {m!r} -> {s!r}" for m, s, _f in po_entries() if s and not HAN.search(s)]
    assert not english, "translations without any Chinese character:\n" + "\n".join(english)


def test_header_is_zh_cn_utf8_with_chinese_plural_forms() -> None:
    header = po_file()
    assert header.locale_identifier == "zh_CN"
    assert header.charset == "utf-8"
    assert header.num_plurals == 1
    assert header.plural_expr == "0"
    assert not header.fuzzy


def test_key_terms_use_the_agreed_vocabulary() -> None:
    # One word for each concept across the system (the glossary of the translation brief).
    translations = catalog("zh_CN")
    assert translations["Organisation"] == "单位"
    assert translations["Institution"] == "用人单位"
    assert translations["Education authority"] == "教育行政部门"
    assert translations["Public security"] == "公安机关"
    assert translations["Procuratorate"] == "人民检察院"
    assert translations["Registry clerk"] == "信息库录入员"
    assert translations["Registry reviewer"] == "信息库审核员"
    assert translations["System-use notice"] == "系统使用须知"
    assert translations["Unified social credit code"] == "统一社会信用代码"
    assert translations["Region code"] == "行政区划代码"
    organisation_texts = [s for m, s, _f in po_entries() if "organisation" in m.lower()]
    assert all("机构" not in s for s in organisation_texts), organisation_texts


# --- run-time behaviour ----------------------------------------------------------------------


@pytest.mark.usefixtures("language")
def test_gettext_returns_chinese_for_zh_cn_and_the_source_for_en() -> None:
    set_language("zh_CN")
    assert gettext("Sign in") == "登录"
    assert gettext("Welcome, {name}", name="张三") == "欢迎您，张三"
    assert gettext("A token lasts from 1 to {max} days.", max=366) == "令牌有效期为 1 至 366 天。"
    set_language("en")
    assert gettext("Sign in") == "Sign in"
    assert gettext("Welcome, {name}", name="Zhang San") == "Welcome, Zhang San"


@pytest.mark.usefixtures("language")
def test_an_unknown_language_falls_back_to_zh_cn() -> None:
    set_language("fr")
    assert current_language() == "zh_CN"
    assert gettext("Sign out") == "退出登录"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("", "zh_CN"),
        (None, "zh_CN"),
        ("fr-FR,de;q=0.8", "zh_CN"),
        ("en-GB,en;q=0.8", "en"),
    ],
)
def test_negotiate_picks_the_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


@pytest.mark.usefixtures("language")
@pytest.mark.parametrize(
    ("lang", "expected"),
    [("zh_CN", "登录 · 系统管理员 · 用人单位"), ("en", "Sign in · Administrator · Institution")],
)
def test_template_strings_render_in_the_language(lang: str, expected: str) -> None:
    set_language(lang)
    template = environment().from_string(
        '{{ _("Sign in") }} · {{ _(role_labels["admin"]) }}'
        ' · {{ _(org_type_labels["institution"]) }}'
    )
    assert template.render() == expected


@pytest.mark.usefixtures("language")
def test_translated_text_with_parameters_is_still_escaped() -> None:
    set_language("zh_CN")
    template = environment().from_string('{{ _("Welcome, {name}", name=name) }}')
    assert template.render(name="<b>x</b>") == "欢迎您，&lt;b&gt;x&lt;/b&gt;"


@pytest.mark.usefixtures("language")
@pytest.mark.parametrize("template_name", ["accounts/sign_in.html", "accounts/notice.html"])
def test_pages_render_wholly_in_each_language(template_name: str) -> None:
    # Every string of these pages is shown unconditionally, as are two of the layout's.
    shown = {
        text
        for text, locs in extracted().items()
        if any(loc.rsplit(":", 1)[0].endswith(f"templates/{template_name}") for loc in locs)
    } | {"Shouhu", "Restricted system. Every use is recorded and audited."}
    assert len(shown) > 3
    context = {"csrf_token": "t", "lang": "", "path": "/", "next": "/", "demo": False}
    translations = catalog("zh_CN")
    set_language("zh_CN")
    chinese = environment().get_template(template_name).render(context)
    set_language("en")
    english = environment().get_template(template_name).render(context)
    for text in shown:
        assert str(escape(translations[text])) in chinese, text
        assert str(escape(text)) not in chinese, text
        assert str(escape(text)) in english, text
