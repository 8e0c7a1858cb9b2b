"""A batch of inquiries in Chromium: a school uploads its staff file, its authority approves, the
progress bar moves while the rows are answered, and the answers download as CSV and Excel.

The yearly re-check of all staff (Minors Law art. 62) is one file. A primary school uploads it
with the consent that covers it; its education authority approves the batch (MoE notice 2023);
a runner answers it chunk by chunk while the school's page polls its progress; the school sees
only counts and, per row, whether a record exists. Each step runs in Chinese and in English;
key pages are saved as tests/e2e/screenshots/batches-<step>-<lang>.png.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from playwright.sync_api import Page, expect

from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.batch_runner import BatchRunner
from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_inquiries import Scheme, World
from tests.e2e.test_registry_review import a_birth_date, expect_clean_console, person_signed_in, tr
from tests.factories.registry import prc_number

BATCH_PAGE = re.compile(r"^https?://[^/]+/inquiry-batches/[0-9a-f-]{36}$")
LANGS = ["zh_CN", "en"]
ROWS = 120


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/batches-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"batches-{step}-{lang}.png", full_page=True)


def staff_file(folder: Path, scheme: Scheme) -> Path:
    """The school's staff: strangers, the registry's offender among them, and one typing error."""
    born = a_birth_date()
    first = 2 * (uuid.uuid4().int % 300) + 1
    rows = [
        [
            f"T-{i:04d}",
            "赵老师",
            "prc_id",
            prc_number("110108", born, first + 2 * i),
            "",
            "",
            "教师",
        ]
        for i in range(ROWS)
    ]
    rows[17] = ["T-0017", scheme.offender.name, "prc_id", scheme.offender.id_number, "", "", "门卫"]
    rows[42][3] = rows[42][3][:-1] + ("0" if rows[42][3][-1] != "0" else "1")  # a wrong check
    path = folder / "全体教职工.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reference", "name", "id_type", "id_number", "date_of_birth", "sex"])
        writer.writerows(row[:6] for row in rows)
    return path


def school_uploads(page: Page, lang: str, path: Path) -> str:
    """HR opens Batches, uploads the file with the consent; the batch's path."""
    page.get_by_test_id("nav-batches").click()
    expect_path(page, "/inquiry-batches")
    expect(page.locator("h1")).to_have_text(tr(lang, "Batches of inquiries"))
    page.get_by_test_id("new-batch").click()
    expect_path(page, "/inquiry-batches/new")
    expect(page.locator("#purpose")).to_have_value("annual_recheck")
    page.set_input_files("#file", str(path))
    page.fill("#consent_reference", f"年度复查授权-{uuid.uuid4().hex[:6]}")
    page.fill("#consent_signed_on", (latest_possible_date() - timedelta(days=5)).isoformat())
    snap(page, "1-upload", lang)
    page.get_by_test_id("upload").click()
    expect(page).to_have_url(BATCH_PAGE)
    return page.url[page.url.index("/inquiry-batches/") :]


def officer_approves(page: Page, lang: str, batch: str, scheme: Scheme) -> None:
    """The officer finds the school's batch in Batches and approves it."""
    page.get_by_test_id("nav-batches").click()
    rows = page.get_by_test_id("batches").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(scheme.school.name)
    expect(rows.first).to_contain_text(tr(lang, "Waiting for the authority's approval"))
    rows.first.locator("a").click()
    expect_path(page, batch)
    snap(page, "2-approval", lang)
    page.get_by_test_id("approve-batch").click()
    expect_path(page, batch)
    expect(page.get_by_test_id("batch-status")).to_have_text(tr(lang, "Waiting to start"))


def answer_slowly(server: LiveServer) -> threading.Thread:
    """A runner over the live database, slowed so that a person can watch the bar move."""
    settings = Settings(data_dir=server.runtime.settings.data_dir, batch_chunk_rows=10)
    runner = BatchRunner(server.runtime.sessions, settings, on_chunk=lambda *_: time.sleep(0.3))
    thread = threading.Thread(target=runner.run_pending, name="e2e-batch-runner", daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("lang", LANGS)
def test_a_schools_staff_file_is_approved_answered_with_progress_and_downloaded(
    tabs: Tabs, live_server: LiveServer, accounts: Accounts, lang: str, tmp_path: Path
) -> None:
    scheme = World(live_server, accounts).scheme()
    path = staff_file(tmp_path, scheme)
    hr = person_signed_in(tabs, scheme.school_hr, lang)
    batch = school_uploads(hr, lang, path)
    status = hr.get_by_test_id("batch-status")
    expect(status).to_have_text(tr(lang, "Waiting for the authority's approval"))
    expect(hr.get_by_test_id("batch-decision")).to_have_count(0)  # not the school's to approve

    officer = person_signed_in(tabs, scheme.officer, lang)
    officer_approves(officer, lang, batch, scheme)

    hr.goto(batch)
    runner = answer_slowly(live_server)
    progress = hr.get_by_test_id("batch-progress")
    # The page follows the runner by itself: some rows answered, not all, then all.
    expect(progress).to_have_attribute("data-status", "running", timeout=20_000)
    hr.wait_for_function(
        "() => { const bar = document.querySelector('[data-testid=batch-bar]');"
        " return bar && bar.value > 0 && bar.value < bar.max; }",
        timeout=20_000,
    )
    snap(hr, "3-progress", lang)
    expect(progress).to_have_attribute("data-status", "completed", timeout=60_000)
    runner.join(timeout=30)
    expect(status).to_have_text(tr(lang, "Answered"))
    outcomes = hr.get_by_test_id("batch-outcomes")
    expect(outcomes.locator("tr[data-outcome=record_found] td").last).to_have_text("1")
    expect(outcomes.locator("tr[data-outcome=invalid] td").last).to_have_text("1")
    expect(outcomes.locator("tr[data-outcome=no_record] td").last).to_have_text(str(ROWS - 2))
    text = hr.locator("main").inner_text()
    assert scheme.offender.decision_number not in text
    snap(hr, "4-answered", lang)

    with hr.expect_download() as csv_download:
        hr.get_by_test_id("results-csv").click()
    answers = csv_download.value.path().read_text(encoding="utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(answers)))
    assert [line["reference"] for line in lines] == [f"T-{i:04d}" for i in range(ROWS)]
    assert lines[17]["outcome"] == "record_found"
    assert (lines[42]["outcome"], lines[42]["field"]) == ("invalid", "id_number")
    assert all(line["certificate_code"] for i, line in enumerate(lines) if i != 42)
    with hr.expect_download() as xlsx_download:
        hr.get_by_test_id("results-xlsx").click()
    workbook = io.BytesIO(xlsx_download.value.path().read_bytes())
    sheet = load_workbook(workbook, read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) == ROWS + 1
    expect_clean_console(tabs)
