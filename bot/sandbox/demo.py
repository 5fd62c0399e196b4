"""The sandbox's demo company: its people, channels, routing model, weekly summary, pulse
survey, and a week of history written by playing the journeys through Jerry.

The history is not inserted in the database: the clock is set back day by day and people
file, acknowledge, answer, resolve, ship and react through the platform, as they would in
Slack, so what Jerry stores, posts and counts is what it would have after such a week.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.sandbox.slack_api import BOT_USER_ID
from bot.sandbox.workspace import SandboxSlack

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

log = logging.getLogger("jerry.sandbox")
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class DemoPerson:
    id: str
    name: str
    real_name: str
    title: str
    role: str  # sandbox.role.<role> in the catalogs
    team: str = ""
    locale: str = "en-US"
    tz: str = "Europe/Paris"
    tz_offset: int = 3600

    def role_label(self, lang: str) -> str:
        return t(f"sandbox.role.{self.role}", lang, team=self.team)


EMPLOYEE, FRANCOIS, SUPPORT = "U0EMPLOYEE", "U0FRANCOIS", "U0SUPPORT"
LEAD_PAY, LEAD_MOB, LEAD_PLAT = "U0LEADPAY", "U0LEADMOB", "U0LEADPLAT"
PM, PRODOPS, BACKUP_PAY = "U0PM", "U0PRODOPS", "U0BACKPAY"

PEOPLE = [
    DemoPerson(EMPLOYEE, "emma", "Emma Martin", "Account executive", "employee_sales"),
    DemoPerson(
        FRANCOIS,
        "francois",
        "François Dubois",
        "Chargé de clientèle",
        "employee_french",
        locale="fr-FR",
    ),
    DemoPerson(LEAD_PAY, "leo", "Leo Garcia", "Payments team lead", "lead", "Payments"),
    DemoPerson(
        LEAD_MOB,
        "nina",
        "Nina Kowalski",
        "Mobile team lead",
        "lead",
        "Mobile",
        tz="Europe/Berlin",
    ),
    DemoPerson(PM, "priya", "Priya Shah", "Product manager", "pm"),
    DemoPerson(PRODOPS, "olga", "Olga Berg", "Product operations", "admin"),
    DemoPerson(
        SUPPORT,
        "sam",
        "Sam Okafor",
        "Support engineer",
        "employee_support",
        tz="Europe/London",
        tz_offset=0,
    ),
    DemoPerson(LEAD_PLAT, "marc", "Marc Petit", "Platform team lead", "lead", "Platform"),
    DemoPerson(BACKUP_PAY, "bea", "Bea Novak", "Payments engineer", "backup", "Payments"),
]
DEFAULT_PERSON = EMPLOYEE
ADMINS = [PRODOPS]

CHANNELS = [
    ("C0GENERAL", "general"),
    ("C0SALES", "sales"),
    ("C0SUPPORT", "support"),
    ("C0PRODOPS", "product-ops"),
    ("C0PAYMENTS", "payments-team"),
]

ROUTING_YAML = f"""\
# The demo company's routing model (jerry routing import).
triage:
  lead: {PRODOPS}
  channel: C0PRODOPS
teams:
  - name: Payments
    lead: {LEAD_PAY}
    backup: {BACKUP_PAY}
    channel: C0PAYMENTS
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture, remboursement, csv]
      - name: Checkout
        keywords: [checkout, cart, coupon, payment, paiement]
  - name: Mobile
    lead: {LEAD_MOB}
    areas:
      - name: iOS app
        keywords: [ios, iphone, ipad]
      - name: Android app
        keywords: [android, pixel]
  - name: Platform
    lead: {LEAD_PLAT}
    areas:
      - name: Login & SSO
        keywords: [sso, login, saml, password, okta]
      - name: Onboarding
        keywords: [onboarding, signup, invite, trial]
rules:
  - name: crashes reported by support go to Mobile
    when: {{channel: C0SUPPORT, pattern: "crash|freeze"}}
    team: Mobile
"""

SUMMARIES_YAML = """\
# The demo company's weekly product summary (jerry summaries import).
subscriptions:
  - name: sales-weekly
    channel: C0SALES
    weekday: monday
    time: "09:00"
    timezone: Europe/Paris
    language: en
"""

SURVEYS_YAML = f"""\
# The demo company's pulse survey (jerry surveys import).
surveys:
  - name: pm-pulse
    title: Product pulse
    owner_channel: C0PRODOPS
    audience: {{users: [{PM}, {LEAD_PAY}, {LEAD_MOB}, {LEAD_PLAT}]}}
    deliver: dm
    schedule: {{every: week, day: thursday, time: "10:00"}}
    timezone: Europe/Paris
    open_for: 3d
    remind_before: 1d
    anonymous: true
    language: en
    questions:
      - id: priorities
        kind: scale5
        text:
          en: "Are this quarter's priorities clear to you?"
          fr: "Les priorités du trimestre sont-elles claires ?"
        low: {{en: Not at all, fr: Pas du tout}}
        high: {{en: Completely, fr: Complètement}}
      - id: voice
        kind: scale5
        text: {{en: "Do you hear enough from customers?", fr: "Entendez-vous assez les clients ?"}}
        low: {{en: Not at all, fr: Pas du tout}}
        high: {{en: Completely, fr: Complètement}}
      - id: blocker
        kind: text
        text:
          en: "What slowed you down this week?"
          fr: "Qu'est-ce qui vous a freiné cette semaine ?"
"""


def add_workspace(slack: SandboxSlack) -> None:
    """The demo people and channels (every start: the local Slack keeps nothing)."""
    for p in PEOPLE:
        slack.add_user(
            p.id,
            p.name,
            real_name=p.real_name,
            email=f"{p.name}@demo.example",
            tz=p.tz,
            tz_offset=p.tz_offset,
            locale=p.locale,
        )
    members = [p.id for p in PEOPLE] + [BOT_USER_ID]
    for channel_id, name in CHANNELS:
        slack.add_channel(channel_id, name, members=list(members))


# --- the week of history ------------------------------------------------------------------


async def seed(sandbox: Sandbox) -> None:
    """Configure the company and play a week of its life (the clock back, then forward)."""
    from bot.intake.routing_cli import import_file as import_routing
    from bot.summaries.cli import import_file as import_summaries
    from bot.surveys.cli import import_file as import_surveys

    directory = sandbox.directory
    week_ago = history_start(datetime.now(UTC))
    sandbox.clock.set(week_ago)
    files = {"routing.yml": ROUTING_YAML, "summaries.yml": SUMMARIES_YAML}
    files["surveys.yml"] = SURVEYS_YAML
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    now = sandbox.clock.now()
    loaded = [
        await import_routing(sandbox.settings, directory / "routing.yml"),
        await import_summaries(sandbox.settings, directory / "summaries.yml", now=now),
        await import_surveys(sandbox.settings, directory / "surveys.yml", now=now),
    ]
    if any(loaded):
        raise RuntimeError("the demo company's settings files were refused (printed above)")
    story = Story(sandbox)
    try:
        await story.play(week_ago)
    finally:
        # Back to real time: nothing Jerry stored may lie in its future.
        sandbox.clock.reset()
        await sandbox.app.scheduler.run_pending(sandbox.clock.now())
        await sandbox.settle()


def history_start(now: datetime) -> datetime:
    """A week ago, 09:30 in Paris: when the demo's history begins. The sandbox starts Jerry
    there on a fresh database, so its scheduled jobs (reminders, the survey, summaries) run
    through the week as it is played."""
    local = (now - timedelta(days=7)).astimezone(PARIS)
    return local.replace(hour=9, minute=30, second=0, microsecond=0).astimezone(UTC)


class Story:
    """The demo week, played through the platform as people would in Slack."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.slack = sandbox.slack
        self.platform = sandbox.platform

    async def at(self, moment: datetime) -> None:
        self.sandbox.clock.set(moment)
        await self.sandbox.app.scheduler.run_pending(moment)
        await self.sandbox.settle()

    async def play(self, start: datetime) -> None:
        day = timedelta(days=1)
        hour = timedelta(hours=1)

        # Monday: a refund bug for a customer at risk, fixed and helping a deal.
        await self.at(start)
        refund = await self.file_with_form(
            EMPLOYEE,
            "C0SALES",
            "/painpoint",
            "Refunding part of an invoice fails with an error, Globex is waiting on it",
            area="Billing",
            customer="Globex",
            flags=("at_risk",),
        )
        await self.at(start + hour)
        await self.click_card(LEAD_PAY, refund, "item_acknowledge")
        await self.at(start + 3 * hour)
        await self.answer(
            LEAD_PAY,
            refund,
            "Thanks Emma. We found it: partial refunds on invoices with a discount. "
            "A fix is in review.",
        )

        # The pulse survey's first round started at 10:00: three of the four answer.
        for person, scores, blocker in (
            (LEAD_PAY, ("4", "2"), "Two customer escalations on refunds took the week."),
            (PM, ("3", "3"), "Waiting on legal for the new invoice format."),
            (LEAD_MOB, ("5", "2"), ""),
        ):
            await self.answer_survey(person, scores, blocker)

        # Monday afternoon: a question in French, answered.
        await self.at(start + 5 * hour)
        export = await self.file_with_form(
            FRANCOIS,
            "C0SALES",
            "/ask",
            "Peut-on exporter les factures d'un client en CSV ?",
            area="Billing",
        )
        await self.at(start + 6 * hour)
        await self.answer(
            LEAD_PAY,
            export,
            "Pas encore : l'export CSV des factures est prévu pour ce mois-ci.",
        )

        # Tuesday: support mentions Jerry about an iOS crash; the lead asks for details.
        await self.at(start + day)
        crash = await self.mention(
            SUPPORT,
            "C0SUPPORT",
            "@Jerry the iOS app crashes when a customer opens an invoice PDF (iPhone 15, iOS 19)",
        )
        await self.at(start + day + 2 * hour)
        await self.click_card(LEAD_MOB, crash, "item_acknowledge")
        await self.ask_details(LEAD_MOB, crash, "Which app version? Does it happen for every PDF?")
        await self.at(start + day + 3 * hour)
        await self.reply_in_reporter_thread(
            SUPPORT, crash, "Version 8.2.1, only PDFs with more than 20 pages."
        )

        # Wednesday: an SSO problem nobody has acknowledged yet (reminders chase it).
        await self.at(start + 2 * day)
        await self.file_with_form(
            EMPLOYEE,
            "C0SALES",
            "/painpoint",
            "SSO login loops back to the sign-in page for Initech users on Okta",
            area="Login & SSO",
            customer="Initech",
        )

        # Wednesday: a checkout problem, acknowledged.
        await self.at(start + 2 * day + 2 * hour)
        coupon = await self.file_with_form(
            EMPLOYEE,
            "C0SALES",
            "/painpoint",
            "The checkout coupon field rejects codes typed in lowercase",
            area="Checkout",
        )
        await self.at(start + 2 * day + 4 * hour)
        await self.click_card(LEAD_PAY, coupon, "item_acknowledge")

        # Thursday: the refund fix ships; the PM records it naming the item.
        await self.at(start + 3 * day)
        if refund is not None:
            await self.resolve(LEAD_PAY, refund, outcome="fixed", deal=True, customer="kept")
            await self.record_update(
                PM,
                "/shipped",
                "Partial refunds on discounted invoices",
                items=f"#{refund}",
            )
        await self.at(start + 3 * day + hour)
        await self.record_update(PM, "/upcoming", "CSV export of invoices")

        # Friday: an emoji files a message in #support; an anonymous pain point.
        await self.at(start + 4 * day)
        said = self.slack.post_as(
            EMPLOYEE, "C0SUPPORT", "The Android app logs users out every morning since 8.2"
        )
        await self.platform.react(SUPPORT, "C0SUPPORT", said["ts"], "ticket", remove=False)
        await self.at(start + 4 * day + 2 * hour)
        await self.file_with_form(
            FRANCOIS,
            "C0GENERAL",
            "/painpoint",
            "Le parcours d'inscription demande deux fois l'adresse e-mail",
            area="Onboarding",
            flags=("anonymous",),
        )

        # Saturday: support reports the coupon problem again; the lead marks it a duplicate.
        await self.at(start + 5 * day)
        again = await self.file_with_form(
            SUPPORT,
            "C0SUPPORT",
            "/painpoint",
            "Coupon codes in lowercase are refused at checkout",
            area="Checkout",
        )
        await self.at(start + 5 * day + hour)
        if again is not None and coupon is not None:
            await self.resolve(LEAD_PAY, again, outcome="duplicate", duplicate=coupon)

        # Yesterday: a new pain point, still waiting for the lead.
        await self.at(start + 6 * day)
        await self.mention(
            EMPLOYEE,
            "C0SALES",
            "@Jerry invoices in the customer portal show the wrong VAT number for Umbrella",
        )

    # --- the moves ------------------------------------------------------------------------

    async def file_with_form(
        self,
        user: str,
        channel: str,
        command: str,
        text: str,
        *,
        area: str | None = None,
        customer: str | None = None,
        flags: tuple[str, ...] = (),
    ) -> int | None:
        before = await self._latest_item()
        await self.platform.post(user, channel, command)
        await self.sandbox.settle()
        view = self.slack.top_modal(user)
        if view is None:
            log.warning("demo: %s opened no form", command)
            return None
        values = form_values(
            view,
            {"text": text, "area": area, "customer": customer, "flags": list(flags)},
        )
        answer = await self.platform.submit(user, view["id"], values)
        if answer.errors:
            log.warning("demo: the form refused %s: %s", text, answer.errors)
            self.slack.clear_modals(user)
            return None
        await self.sandbox.settle()
        return await self._new_item(before)

    async def mention(self, user: str, channel: str, text: str) -> int | None:
        before = await self._latest_item()
        await self.platform.post(user, channel, text)
        await self.sandbox.settle()
        return await self._new_item(before)

    async def _latest_item(self) -> int:
        from sqlalchemy import func, select

        from models.items import Item

        async with self.sandbox.app.sessions() as session:
            return int((await session.scalar(select(func.max(Item.id)))) or 0)

    async def _new_item(self, before: int) -> int | None:
        latest = await self._latest_item()
        return latest if latest > before else None

    def card(self, lead: str, item: int) -> dict[str, Any] | None:
        """The lead's card for `item` in their DM with Jerry (as it is now)."""
        channel = self.slack.dm_channel(lead)
        for message in reversed(self.slack.messages.get(channel, [])):
            if f"item_actions_{item}" in str(message.get("blocks")):
                return message
        return None

    async def click_card(self, lead: str, item: int | None, action_id: str) -> bool:
        if item is None:
            return False
        card = self.card(lead, item)
        if card is None:
            log.warning("demo: no card for #%s in %s's DM", item, lead)
            return False
        await self.platform.action(
            lead,
            {"action_id": action_id, "type": "button"},
            where="message",
            channel=self.slack.dm_channel(lead),
            ts=card["ts"],
        )
        await self.sandbox.settle()
        return True

    async def submit_open_form(self, user: str, given: dict[str, Any]) -> None:
        view = self.slack.top_modal(user)
        if view is None:
            log.warning("demo: no form open for %s", user)
            return
        answer = await self.platform.submit(user, view["id"], form_values(view, given))
        if answer.errors:
            log.warning("demo: the form refused %s: %s", given, answer.errors)
            self.slack.clear_modals(user)
        await self.sandbox.settle()

    async def answer(self, lead: str, item: int | None, text: str) -> None:
        if await self.click_card(lead, item, "item_answer"):
            await self.submit_open_form(lead, {"answer": text})

    async def ask_details(self, lead: str, item: int | None, text: str) -> None:
        if await self.click_card(lead, item, "item_ask_details"):
            view = self.slack.top_modal(lead)
            first_input = next(
                (b["block_id"] for b in (view or {}).get("blocks", []) if b["type"] == "input"),
                "question",
            )
            await self.submit_open_form(lead, {first_input: text})

    async def resolve(
        self,
        lead: str,
        item: int,
        *,
        outcome: str,
        deal: bool = False,
        customer: str | None = None,
        duplicate: int | None = None,
    ) -> None:
        if await self.click_card(lead, item, "item_resolve"):
            note = "Fixed in the 4.12 release." if outcome == "fixed" else ""
            given: dict[str, Any] = {"outcome": outcome, "note": note}
            if duplicate is not None:
                given["duplicate"] = str(duplicate)
            if deal:
                given["deal"] = ["helped_deal"]
            if customer:
                given["customer"] = customer
            await self.submit_open_form(lead, given)

    async def answer_survey(self, person: str, scores: tuple[str, str], blocker: str) -> None:
        """Answer the latest survey round in the person's DM with its form."""
        channel = self.slack.dm_channel(person)
        for message in reversed(self.slack.messages.get(channel, [])):
            if "survey_answer_form" in str(message.get("blocks")):
                await self.platform.action(
                    person,
                    {"action_id": "survey_answer_form", "type": "button"},
                    where="message",
                    channel=channel,
                    ts=message["ts"],
                )
                await self.sandbox.settle()
                given = {"q:priorities": scores[0], "q:voice": scores[1]}
                if blocker:
                    given["q:blocker"] = blocker
                await self.submit_open_form(person, given)
                return
        log.warning("demo: no survey to answer in %s's DM", person)

    async def reply_in_reporter_thread(self, user: str, item: int | None, text: str) -> None:
        """The reporter answers in the thread where Jerry asked them (their mention's)."""
        if item is None:
            return
        for channel, messages in self.slack.messages.items():
            for message in reversed(messages):
                if (
                    message.get("user") == BOT_USER_ID
                    and message.get("thread_ts")
                    and f"#{item}" in (message.get("text") or "")
                    and not channel.startswith("D0LEAD")
                ):
                    await self.platform.post(user, channel, text, thread_ts=message["thread_ts"])
                    await self.sandbox.settle()
                    return

    async def record_update(
        self, user: str, command: str, title: str, *, items: str | None = None
    ) -> None:
        await self.platform.post(user, "C0GENERAL", f"{command} {title}")
        await self.sandbox.settle()
        given: dict[str, Any] = {"title": title, "area": "Billing"}
        if items:
            given["items"] = items
        if command == "/upcoming":  # a target date, two weeks ahead
            given["date"] = (self.sandbox.clock.now() + timedelta(days=14)).date().isoformat()
        await self.submit_open_form(user, given)


# --- filling a form as a person would ------------------------------------------------------


def form_values(view: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Slack's view.state.values for `view`: what `given` names (by block id: a text, an
    option's value or the start of its label, a list for checkboxes), the initial value of
    the rest, and a first option for a required choice left empty."""
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        block_id = block.get("block_id") or ""
        element = block.get("element") or {}
        kind = element.get("type")
        wanted = given.get(block_id)
        value: dict[str, Any] = {"type": kind}
        if kind in {"plain_text_input", "number_input", "email_text_input", "url_text_input"}:
            value["value"] = wanted if isinstance(wanted, str) else element.get("initial_value")
        elif kind in {"static_select", "radio_buttons"}:
            options = _options(element)
            chosen = _choose(options, wanted) or element.get("initial_option")
            if chosen is None and not block.get("optional") and options:
                chosen = options[0]
            value["selected_option"] = chosen
        elif kind in {"checkboxes", "multi_static_select"}:
            options = _options(element)
            picked = [_choose(options, w) for w in (wanted or [])]
            value["selected_options"] = [p for p in picked if p] or list(
                element.get("initial_options") or []
            )
        elif kind == "datepicker":
            value["selected_date"] = wanted or element.get("initial_date")
        elif kind == "users_select":
            value["selected_user"] = wanted or element.get("initial_user")
        elif kind == "multi_users_select":
            value["selected_users"] = wanted or element.get("initial_users") or []
        elif kind == "conversations_select":
            value["selected_conversation"] = wanted or element.get("initial_conversation")
        values[block_id] = {element.get("action_id") or "value": value}
    return values


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _choose(options: list[dict[str, Any]], wanted: Any) -> dict[str, Any] | None:
    if not isinstance(wanted, str) or not wanted:
        return None
    match: Callable[[dict[str, Any]], bool]
    for match in (
        lambda o: o.get("value") == wanted,
        lambda o: str((o.get("text") or {}).get("text", "")).lower().startswith(wanted.lower()),
        lambda o: wanted.lower() in str((o.get("text") or {}).get("text", "")).lower(),
    ):
        found = next((o for o in options if match(o)), None)
        if found is not None:
            return found
    return None
