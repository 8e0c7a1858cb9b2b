"""Evidence of a one-stop case in Chromium: record, upload, custody, download, export, tamper.

The case's lead officer records an item, uploads its file (the page shows the SHA-256 the
server computed), appends a custody event (refused without a reason, with the field error
shown, then accepted), verifies the custody log, downloads the file (the same bytes), exports
the case (a ZIP whose manifest signature verifies under the published key and whose hashes
match the files), then finds the stored file tampered with on disk: the download is blocked and
the alert shows on the case page. In Chinese and in English; screenshots are
tests/e2e/screenshots/evidence-<step>-<lang>.png.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.database import transaction
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence import BLOCKED_MESSAGE
from shouhu.onestop.models import OneStopSite
from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_inquiries import take_the_refused_post
from tests.e2e.test_onestop_cases import a_site
from tests.e2e.test_registry_review import expect_clean_console, person_signed_in, tr
from tests.factories.onestop import open_case
from tests.onestop.evidence_helpers import flip_bit

LANGS = ["zh_CN", "en"]
# A small photograph's worth of bytes, different in each run (the store dedupes by content).
PHOTO_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/evidence-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"evidence-{step}-{lang}.png", full_page=True)


def a_case(server: LiveServer, officer_id: uuid.UUID, site_name: str) -> str:
    """A case the officer received (and leads) at the site; its path."""
    with transaction(server.runtime.sessions) as session:
        officer = session.get_one(User, officer_id)
        site = session.scalars(select(OneStopSite).where(OneStopSite.name == site_name)).one()
        case = open_case(session, officer, site)
        return f"/onestop/cases/{case.id}"


def record_an_item(page: Page, lang: str, case_path: str) -> str:
    """The new-item form from the case page; the item's path."""
    page.goto(case_path)
    page.get_by_test_id("new-evidence").click()
    expect_path(page, case_path + "/evidence/new")
    page.locator("#kind").select_option("digital_media")
    page.locator("#description").fill("报案学校提供的监控截图。")
    page.locator("#place").fill("区公安分局")
    page.locator("#holder").fill("区公安分局物证室")
    page.locator("#reason").fill("作为视听资料固定。")
    page.get_by_test_id("record-evidence").click()
    expect(page.get_by_test_id("custody-entry")).to_have_count(1)
    snap(page, "item", lang)
    return page.url.split("://", 1)[1].split("/", 1)[1]


def upload(page: Page, lang: str, data: bytes) -> str:
    """Choose the file and upload it; the SHA-256 the page shows."""
    page.get_by_test_id("upload-form").locator("#file").set_input_files(
        files=[{"name": "监控截图.jpg", "mimeType": "image/jpeg", "buffer": data}]
    )
    page.get_by_test_id("upload").click()
    shown = page.get_by_test_id("sha256")
    expect(shown).to_have_text(hashlib.sha256(data).hexdigest())
    snap(page, "uploaded", lang)
    return shown.inner_text()


def custody_event(page: Page, lang: str) -> None:
    """A transfer without a reason (refused, the field named), then with one."""
    form = page.get_by_test_id("custody-form")
    form.locator("#event").select_option("transferred")
    form.locator("#to_holder").fill("市公安局物证鉴定中心")
    form.locator("#place").fill("区公安分局物证室")
    form.locator("#reason").fill("   ")  # passes the browser's `required`, not the server
    page.get_by_test_id("append-custody").click()
    error = page.get_by_test_id("error-reason")
    expect(error).to_be_visible()
    expect(page.locator("#reason")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("custody-entry")).to_have_count(1)
    snap(page, "custody-reason-missing", lang)
    page.get_by_test_id("custody-form").locator("#reason").fill("送检：图像真实性鉴定。")
    page.get_by_test_id("append-custody").click()
    expect(page.get_by_test_id("custody-entry")).to_have_count(2)
    expect(page.get_by_test_id("holder")).to_have_text("市公安局物证鉴定中心")
    page.get_by_test_id("verify-custody").click()
    expect(page.get_by_test_id("custody-intact")).to_be_visible()
    expect(page.get_by_test_id("custody-intact")).to_contain_text(
        tr(
            lang,
            "The custody log is intact: {n} entries, every hash and link checked against the head.",
            n=2,
        )
    )
    snap(page, "custody-verified", lang)


def download(page: Page) -> bytes:
    """Press the download button; the bytes the browser saved."""
    with page.expect_download() as saved:
        page.get_by_test_id("download").click()
    return Path(saved.value.path()).read_bytes()


def export(page: Page, lang: str, case_path: str, data: bytes, sha256: str) -> None:
    """Export the case from its page; the archive's manifest verifies and its hashes match."""
    page.goto(case_path)
    snap(page, "case-with-evidence", lang)
    with page.expect_download() as saved:
        page.get_by_test_id("export-evidence").click()
    assert saved.value.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(saved.value.path()).read_bytes()))
    published = page.request.get("/api/v1/certificates/public-key").json()["public_key_pem"]
    key = serialization.load_pem_public_key(published.encode())
    assert isinstance(key, Ed25519PublicKey)
    manifest_bytes = archive.read("manifest.json")
    key.verify(archive.read("manifest.json.sig"), manifest_bytes)  # raises if it does not
    (item,) = json.loads(manifest_bytes)["items"]
    assert (item["label"], item["file"]["sha256"]) == ("E-1", sha256)
    assert archive.read(item["file"]["path"]) == data
    assert hashlib.sha256(archive.read(item["file"]["path"])).hexdigest() == sha256
    assert [e["event"] for e in item["custody"]["entries"]] == ["collected", "transferred"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_lead_officer_handles_evidence_and_a_tampered_file_is_blocked(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    procuratorate = accounts.organisation(OrgType.PROCURATORATE)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau)
    site_name = a_site(live_server, bureau.id, procuratorate.id)
    case_path = a_case(live_server, officer.id, site_name)
    data = PHOTO_HEADER + uuid.uuid4().bytes * 4096  # 64 KiB, unique to this run

    page = person_signed_in(tabs, officer, lang)
    item_path = "/" + record_an_item(page, lang, case_path)
    sha256 = upload(page, lang, data)
    custody_event(page, lang)
    assert download(page) == data
    export(page, lang, case_path, data, sha256)

    # Someone edits the stored file on disk: the next download is refused, with an alert.
    store = BlobStore(live_server.runtime.settings.data_dir / "evidence")
    flip_bit(store.path_for(sha256), 4000)
    page.goto(item_path)
    page.get_by_test_id("download").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text(tr(lang, BLOCKED_MESSAGE))
    snap(page, "download-blocked", lang)
    page.goto(case_path)
    alert = page.get_by_test_id("evidence-alert")
    expect(alert).to_have_attribute("data-acknowledged", "no")
    expect(alert).to_contain_text(tr(lang, "part of the file was altered"))
    snap(page, "alert", lang)
    # Chromium logs each refused request itself: the reason-less custody event and the
    # blocked download; nothing else may have gone wrong.
    take_the_refused_post(tabs, 422, item_path + "/custody")
    take_the_refused_post(tabs, 409, item_path + "/file")
    expect_clean_console(tabs)
