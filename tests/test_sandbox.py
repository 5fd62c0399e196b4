"""The sandbox as an evaluator uses it: `jerry sandbox`'s page in a real browser (Debian's
Chromium driven by Playwright; no browser is downloaded), the demo company it starts with,
the clock skipping ahead, and a restart keeping what Slack showed.

Screenshots are saved in test-artifacts/sandbox/ (kept by CI as artefacts). The sandbox is
SQLite only by design (its own file): these tests do not run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import func, select

from bot.sandbox import demo
from bot.sandbox.runner import start_sandbox
from bot.sandbox.sandbox import Sandbox
from models.items import Item, ItemEvent

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "sandbox"
CHROMIUM = "/usr/bin/chromium"
REFUND = "Exporting a credit note as PDF cuts the last page for Hooli"


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox directory as its first start leaves it: the demo company seeded through
    Jerry's real journeys (seconds of work), once per test run; each test starts a copy.
    xdist's workers each have a directory in the run's: the first one seeds there, the
    others wait for it (a file lock) rather than seed again. Without xdist the run's own
    directory holds it (its parent outlives the run: a later run would find an old seed)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory = shared / "seeded-sandbox"

    async def first_start() -> None:
        started = await start_sandbox(directory, 0, fresh=True)
        await started.stop()

    with (shared / "seeded-sandbox.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "seeded-sandbox.done").exists():
            asyncio.run(first_start())
            (shared / "seeded-sandbox.done").touch()
    return directory


def copy_of(seeded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(seeded, tmp_path / "sandbox"))


@pytest.fixture
async def sandbox(seeded: Path, tmp_path: Path) -> AsyncIterator[Sandbox]:
    started = await start_sandbox(copy_of(seeded, tmp_path), 0)
    yield started
    await started.stop()


@pytest.fixture
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium (scripts/ensure-chromium)"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def be(page: Page, person: str) -> None:
    """Pick who you are in the sidebar: the page shows that person's DM with Jerry."""
    await page.select_option("#as", person)
    await expect(page.locator("#sidebar li.selected")).to_have_text("💬 Jerry — Messages")


async def test_file_a_pain_point_answer_it_and_read_the_answer_in_the_browser(
    sandbox: Sandbox, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    await page.goto(f"{sandbox.url}#as={demo.EMPLOYEE}&c=C0SALES")
    await expect(page.locator("#header h2")).to_have_text("# sales")

    # The employee files a pain point with the form.
    await page.fill("#composer", "/pain")
    await expect(page.locator("#autocomplete .suggestion")).to_contain_text("/painpoint")
    await page.fill("#composer", "/painpoint")
    await page.press("#composer", "Enter")
    modal = page.locator(".modal")
    await expect(modal).to_contain_text("Report a pain point")
    await page.click("#modal-submit")  # empty: Slack keeps the form open and says why
    await expect(modal.locator('[data-block-id="text"] .input-error')).to_be_visible()
    await modal.locator('[data-block-id="text"] textarea').fill(REFUND)
    billing = await modal.locator(
        '[data-block-id="area"] option', has_text="Billing"
    ).first.get_attribute("value")
    assert billing
    await modal.locator('[data-block-id="area"] select').select_option(billing)
    await shot(page, "1-employee-files-a-pain-point")
    await page.click("#modal-submit")
    await expect(modal).to_have_count(0)
    receipt = page.locator(".message.ephemeral").last
    await expect(receipt).to_contain_text("Only visible to you")
    async with sandbox.app.sessions() as session:
        item = await session.scalar(select(Item).where(Item.text == REFUND))
    assert item is not None and item.team_id is not None
    await expect(receipt).to_contain_text(f"#{item.id}")

    # The Payments lead finds the card in their DM with Jerry and answers it.
    await be(page, demo.LEAD_PAY)
    card = page.locator(".message", has_text=REFUND).last
    await expect(card).to_contain_text(f"#{item.id}")
    await shot(page, "2-lead-sees-the-card")
    await card.locator('button[data-action-id="item_answer"]').click()
    await expect(modal).to_contain_text(f"#{item.id}")
    answer = "It is a page-size bug in the PDF export: fixed tomorrow, Hooli can retry then."
    await modal.locator('[data-block-id="answer"] textarea').fill(answer)
    await page.click("#modal-submit")
    await expect(modal).to_have_count(0)

    # The employee reads the answer in their DM with Jerry.
    await be(page, demo.EMPLOYEE)
    await expect(page.locator("#messages")).to_contain_text("PDF export: fixed tomorrow")
    await shot(page, "3-employee-reads-the-answer")

    # She answers back in the thread of Jerry's message; the lead reads it under the card.
    said = page.locator("#messages .message", has_text="PDF export: fixed tomorrow").last
    await said.hover()
    await said.locator("[data-reply]").click()
    await page.fill("#thread-composer", "Great, thanks! Does it cover credit notes too?")
    await page.press("#thread-composer", "Enter")
    await expect(page.locator("#thread-messages")).to_contain_text("credit notes too")
    await be(page, demo.LEAD_PAY)
    card = page.locator(f'#messages .message:has([data-block-id="item_actions_{item.id}"])')
    await expect(card.locator(".replies")).to_be_visible()
    await card.locator(".replies").click()
    await expect(page.locator("#thread-messages")).to_contain_text("credit notes too")
    await shot(page, "4-lead-reads-the-reply-in-the-card-thread")
    async with sandbox.app.sessions() as session:
        kinds = list(
            await session.scalars(select(ItemEvent.kind).where(ItemEvent.item_id == item.id))
        )
    assert "answered" in kinds, kinds
    assert problems == [] and sandbox.slack.violations == []


async def test_the_demo_company_has_a_week_to_show_and_the_clock_skips_ahead(
    sandbox: Sandbox, browser: Browser
) -> None:
    from sqlalchemy import text

    async with sandbox.app.sessions() as session:
        days = {created.date() for created in await session.scalars(select(Item.created_at))}
        statuses = set(await session.scalars(select(Item.status)))
        teams = await session.scalar(text("select count(*) from teams where not is_triage"))
        subscription = await session.scalar(
            text("select channel from summary_subscriptions where name = 'sales-weekly'")
        )
        rounds = await session.scalar(text("select count(*) from survey_rounds"))
        notices = await session.scalar(text("select count(*) from shipped_notices"))
        anonymous = await session.scalar(select(func.count()).where(Item.anonymous.is_(True)))
    assert len(days) >= 5, days
    assert {"open", "acknowledged", "answered", "resolved"} <= statuses, statuses
    assert teams == 3 and subscription == "C0SALES"
    assert rounds and notices and anonymous
    assert sandbox.slack.violations == []

    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{sandbox.url}#as={demo.PRODOPS}&c=home")
    await expect(page.locator("#home")).to_contain_text("Product ops")
    await shot(page, "5-admin-home")
    await page.click("text=Insights")
    await expect(page.locator("#home")).to_contain_text("Items in")
    await shot(page, "6-admin-insights")

    # To the next weekly summary: #sales gets it.
    before = sandbox.clock.now()
    shown = await page.locator("#clock").inner_text()
    posted = len(sandbox.slack.messages.get("C0SALES", []))
    await page.click('[data-skip="summary"]')
    await expect(page.locator("#clock")).not_to_have_text(shown, timeout=30_000)
    assert sandbox.clock.now() - before >= timedelta(minutes=1)
    for _ in range(100):
        if len(sandbox.slack.messages.get("C0SALES", [])) > posted:
            break
        await asyncio.sleep(0.1)
    summary = sandbox.slack.messages["C0SALES"][posted:]
    assert summary and "product" in (summary[0].get("text") or "").lower(), summary[:1]
    await page.goto(f"{sandbox.url}#as={demo.EMPLOYEE}&c=C0SALES")
    await expect(page.locator("#messages")).to_contain_text("This week in product")
    await shot(page, "7-weekly-summary-in-sales")


async def test_a_restarted_sandbox_shows_the_same_conversations(
    seeded: Path, tmp_path: Path
) -> None:
    directory = copy_of(seeded, tmp_path)
    first = await start_sandbox(directory, 0)
    lead_dm = first.slack.dm_channel(demo.LEAD_PAY)
    cards = [m["ts"] for m in first.slack.messages[lead_dm]]
    items = await _count_items(first)
    await first.stop()
    again = await start_sandbox(directory, 0)
    try:
        assert [m["ts"] for m in again.slack.messages[lead_dm]] == cards
        assert await _count_items(again) == items  # not seeded twice
        again.slack.post_as(demo.EMPLOYEE, "C0GENERAL", "typed after the restart")
    finally:
        await again.stop()
    fresh = await start_sandbox(directory, 0, fresh=True)
    try:
        assert await _count_items(fresh) == items  # a new demo company, the same size
        texts = [m.get("text") for m in fresh.slack.messages.get("C0GENERAL", [])]
        assert "typed after the restart" not in texts
    finally:
        await fresh.stop()


async def _count_items(sandbox: Sandbox) -> int:
    async with sandbox.app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Item)) or 0)
