"""End-to-end tests of the back office in headless Chromium (Playwright) against a live server.

They need the Playwright package (requirements-dev.txt) and the Debian ``chromium`` package at
``/usr/bin/chromium`` (``./dev test`` installs it with apt-get when it runs as root). Without
either they are *skipped with the reason*, never passed. Set ``SCREENSHOTS_DIR=docs/screenshots``
to refresh the README screenshots of the dashboard and the workbench. The layout test saves
its screenshots (1366x768 and 1440x900) under ``$ARTIFACTS_DIR`` (default ``tmp/artifacts/``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.samples import require_statement_samples

from .conftest import STATEMENT_CSV, make_ledger, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-for-tests-only"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: the playwright package is not installed (requirements-dev.txt)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"browser tests skipped: no Chromium at {CHROMIUM} "
            "(apt-get install chromium chromium-driver; ./dev test does it when run as root)"
        )
    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            except Exception as error:  # noqa: BLE001 - a broken browser install is a skip reason
                pytest.skip(f"browser tests skipped: Chromium at {CHROMIUM} does not start: {error}")
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    if not folder.is_absolute():
        folder = PROJECT_ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    page.screenshot(path=str(target), full_page=True)
    return target


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/admin/login/" not in url)


def test_accountant_imports_reconciles_and_confirms(page, live_server, world_a, world_b, tmp_path):
    from tests.invoices.factories import make_invoice, make_vendor

    make_staff(world_a.accountant, world_b.accountant)
    make_ledger(world_a, "A")
    make_ledger(world_b, "B")
    contoso = make_vendor(world_a.tenant, name="Contoso Consulting", aliases=["CONTOSO CONS LTD"])
    make_invoice(
        world_a.tenant,
        amount="480.50",
        number="INV-A-2002",
        vendor=contoso,
        description="Monthly retainer",
        issue_date=dt.date(2024, 3, 1),
        due_date=dt.date(2024, 3, 31),
    )

    # Log in: the only membership is entered at once; the dashboard shows A, nothing of B.
    log_in(page, live_server, world_a.accountant)
    assert page.url == f"{live_server.url}/admin/"
    assert page.locator("#tenant-bar").inner_text().startswith("Acme Corp")
    assert page.locator("#active-role").inner_text().strip().lower() == "accountant"
    assert page.locator("#card-open-invoices .recon-card-value").inner_text() == "2"
    page.goto(f"{live_server.url}/admin/invoices/invoice/")
    listing = page.locator("#result_list").inner_text()
    assert "INV-A-1001" in listing and "INV-A-2002" in listing
    assert "INV-B-1001" not in page.content()

    # Upload a statement.
    statement = tmp_path / "march.csv"
    statement.write_text(STATEMENT_CSV)
    page.goto(f"{live_server.url}/admin/banking/importbatch/add/")
    page.set_input_files("#id_file", str(statement))
    page.click("input[name=_import]")
    message = page.locator("ul.messagelist").inner_text()
    assert "Statement imported" in message and "2 imported" in message, message

    # Run reconciliation from the workbench.
    page.goto(f"{live_server.url}/admin/reconciliation/workbench/")
    page.click("#run-reconciliation")
    assert "Reconciliation finished" in page.locator("ul.messagelist").inner_text()
    candidate = page.locator(".recon-proposal", has_text="INV-A-2002")
    assert "%" in candidate.locator(".recon-percent").inner_text()
    assert candidate.locator(".recon-reasons li").count() >= 1
    assert "INV-B-1001" not in page.content()

    # Confirm with the keyboard: select the candidate, press "c".
    candidate.click(position={"x": 5, "y": 5})
    with page.expect_navigation():
        page.keyboard.press("c")
    message = page.locator("ul.messagelist").inner_text()
    assert "Confirmed: 480.50 USD from Contoso Cons Ltd → INV-A-2002 (now Paid)" in message, message

    # The invoice is paid.
    page.goto(f"{live_server.url}/admin/invoices/invoice/?q=INV-A-2002")
    assert "Paid" in page.locator("#result_list").inner_text()


def test_viewer_can_look_but_not_confirm(page, live_server, world_a):
    from tests.support.runs import reconcile

    make_staff(world_a.viewer)
    make_ledger(world_a, "A")
    match_id = reconcile(world_a.tenant.id, source="admin").proposals[0].match_id

    log_in(page, live_server, world_a.viewer)
    page.goto(f"{live_server.url}/admin/reconciliation/workbench/")
    assert page.locator(".recon-proposal", has_text="INV-A-1001").count() == 1
    assert page.locator("#read-only-note").is_visible()
    assert page.locator("button[data-action=confirm]").count() == 0
    page.keyboard.press("c")  # nothing to press
    status = page.evaluate(
        """async (url) => {
            const token = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.split('=')[1];
            const response = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token || ''}});
            return response.status;
        }""",
        f"{live_server.url}/admin/reconciliation/workbench/match/{match_id}/confirm/",
    )
    assert status == 403

    from reconciliation.models import Match
    from tenants.context import tenant_context

    with tenant_context(world_a.tenant.id):
        assert Match.objects.get(pk=match_id).status == "proposed"


SAMPLE_FILES = [
    "csv/csv2ofx__schwab-checking.csv",
    "ofx/ofxparse__checking.ofx",
    "camt053/genkgo-camt__camt053.v2.multi.statement.xml",
    "mt940/wolph-mt940__jejik_abnamro.sta",
]


@pytest.mark.parametrize("relative", SAMPLE_FILES)
def test_uploading_shared_sample_statements(page, live_server, world_a, relative):
    sample = require_statement_samples() / relative
    assert sample.exists(), f"shared statement sample missing: {sample}"
    make_staff(world_a.accountant)
    log_in(page, live_server, world_a.accountant)
    for attempt in ("first", "again"):
        page.goto(f"{live_server.url}/admin/banking/importbatch/add/")
        page.set_input_files("#id_file", str(sample))
        page.click("input[name=_import]")
        message = page.locator("ul.messagelist").inner_text()
        assert "Statement imported" in message, message
        if attempt == "again":
            assert " 0 imported" in message and "duplicate(s) skipped" in message, message


def test_screenshots_of_dashboard_and_workbench(page, live_server, world_a, world_b, tmp_path):
    """Demo ledgers, one run; saves dashboard.png and workbench.png (SCREENSHOTS_DIR)."""
    from reconciliation.demo import seed_demo_ledgers
    from tests.support.runs import reconcile
    from tests.tenants.factories import add_member

    make_staff(world_a.accountant)
    add_member(world_b.tenant, world_a.accountant, "viewer")  # shows the tenant switcher
    seed_demo_ledgers(tenant_id=world_a.tenant.id)
    reconcile(world_a.tenant.id, actor=world_a.owner, source="admin")

    log_in(page, live_server, world_a.accountant)
    page.wait_for_url(f"{live_server.url}/admin/tenant/")
    page.locator("button.recon-tenant-choice", has_text="Acme Corp").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#card-review .recon-card-value").inner_text() != "0"
    dashboard = screenshot(page, tmp_path, "dashboard.png")

    page.goto(f"{live_server.url}/admin/reconciliation/workbench/")
    assert page.locator(".recon-proposal").count() >= 1
    page.keyboard.press("j")
    workbench = screenshot(page, tmp_path, "workbench.png")
    assert dashboard.stat().st_size > 10_000 and workbench.stat().st_size > 10_000


LAYOUT_VIEWPORTS = [(1366, 768), (1440, 900)]
MAIN_LISTS = {
    "dashboard": "/admin/",
    "invoices": "/admin/invoices/invoice/",
    "bank-transactions": "/admin/banking/banktransaction/",
    "matches": "/admin/reconciliation/match/",
    "workbench": "/admin/reconciliation/workbench/",
}
# Every table must fit its container (no cut-off columns, no horizontal scrollbar in the list),
# the page must not scroll sideways, and a cell that clips its text must carry it in a title.
OVERFLOW_CHECK = """() => {
    const problems = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) {
        problems.push(`page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
    }
    for (const table of document.querySelectorAll('#content table')) {
        if (!table.offsetParent) continue;
        const container = table.parentElement;
        const name = table.id || table.className || 'table';
        if (table.scrollWidth > container.clientWidth + 1) {
            problems.push(`${name}: ${table.scrollWidth}px wide in a ${container.clientWidth}px container`);
        }
        for (const cell of table.querySelectorAll('th, td')) {
            if (cell.scrollWidth > cell.clientWidth + 1) {
                problems.push(`${name}: column ${cell.className || cell.cellIndex} overflows its cell`);
            }
            for (const clipped of cell.querySelectorAll('*')) {
                const cut = clipped.scrollWidth > clipped.clientWidth + 1
                    && getComputedStyle(clipped).overflowX !== 'visible';
                if (cut && !(clipped.title || clipped.closest('[title]'))) {
                    problems.push(`${name}: ${cell.className || cell.cellIndex} clips text without a title`);
                }
            }
        }
    }
    return problems;
}"""


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("ARTIFACTS_DIR") or PROJECT_ROOT / "tmp" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_main_lists_fit_laptop_screens(browser, live_server, world_a):
    """Demo ledgers and a run, at 1366x768 and 1440x900: nothing cut off, screenshots saved."""
    from reconciliation.demo import seed_demo_ledgers
    from tests.banking.factories import make_transaction
    from tests.invoices.factories import make_invoice, make_vendor
    from tests.support.runs import reconcile

    make_staff(world_a.accountant)
    seed_demo_ledgers(tenant_id=world_a.tenant.id)
    # The longest values the columns can get: they must wrap or shorten, never widen the list.
    vendor = make_vendor(
        world_a.tenant, name="Internationale Speditions- und Logistikgesellschaft Nordwestdeutschland mbH"
    )
    make_invoice(world_a.tenant, amount="12345678.90", number="INV-" + "7" * 60, vendor=vendor)
    make_transaction(
        world_a.tenant,
        amount="-9876543.21",
        counterparty_name="Internationale Speditions- und Logistikgesellschaft Nordwestdeutschland mbH",
        description="SEPA-LASTSCHRIFT/" + "X" * 60 + " Rechnung INV-" + "7" * 60,
    )
    reconcile(world_a.tenant.id, actor=world_a.owner, source="admin")
    folder = artifacts_dir()
    problems = []
    for width, height in LAYOUT_VIEWPORTS:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, live_server, world_a.accountant)
        for name, path in MAIN_LISTS.items():
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            assert "/admin/login/" not in page.url, name
            shot = folder / f"{name}-{width}x{height}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000, shot
            problems += [f"{name} at {width}px: {p}" for p in page.evaluate(OVERFLOW_CHECK)]
        context.close()
    assert not problems, "\n".join(problems)


def test_job_progress_bars_follow_the_work_without_a_reload(
    page, live_server, world_a, job_workers, tmp_path
):
    """The Jobs page's bar of a running job moves and turns to done while the page stays loaded."""
    from jobs.models import Job, JobStatus
    from jobs.services import job_enqueue
    from tenants.context import tenant_context
    from tests.jobs import probe_tasks
    from tests.support.worker import wait_for

    make_staff(world_a.accountant)
    with tenant_context(world_a.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params={"steps": 16, "step_seconds": 0.5}, source="test")
    job_workers.start()

    def progress_of_job():
        with tenant_context(world_a.tenant.id):
            return Job.objects.get(id=job.id)

    wait_for(lambda: progress_of_job().progress_done >= 1, message="the job to report progress")
    log_in(page, live_server, world_a.accountant)
    page.goto(f"{live_server.url}/admin/jobs/job/")
    page.evaluate("window.loadedOnce = true")  # gone if the page were reloaded
    bar = page.locator(f'.job-progress[data-job-id="{job.id}"]')
    first_value = int(bar.locator("progress").get_attribute("value") or "0")
    assert bar.get_attribute("data-job-status") == "running"

    bar_of = "document.querySelector(`.job-progress[data-job-id='${id}']`)"
    page.wait_for_function(
        f"([id, first]) => Number({bar_of}.querySelector('progress').value) > first",
        arg=[str(job.id), first_value],
    )
    page.wait_for_function(
        f"(id) => {bar_of}.dataset.jobStatus === 'succeeded'",
        arg=str(job.id),
        timeout=30_000,
    )

    assert page.evaluate("window.loadedOnce") is True
    assert (
        bar.locator("progress").get_attribute("value") is None
        or bar.locator("progress").evaluate("p => p.value") == 100
    )
    assert (
        "Succeeded"
        in page.locator(f"#result_list tr:has(.job-progress[data-job-id='{job.id}'])").inner_text()
    )
    assert progress_of_job().status == JobStatus.SUCCEEDED
    screenshot(page, tmp_path, "jobs-progress.png")
