"""End to end: what the followers of a kept item hear, and demand (issue 12).

An item merged into #K follows it: whenever K's reporter hears news of K (someone is on it,
the answer, the resolution, a reopening), every follower's reporter hears it too, in their
own thread of their own item, in their language, once per person, anonymous ones never named.
K's card, and the lead's App Home queue, show how many people and customers asked for K; the
queue can be ordered by it.

The merges are set up in the database with `merge_item` (the lead side's "Merge into #K" and
the reporter's "add me" owe their own notices); everything after goes through the real app
with signed Slack requests, and the bot talks to the fake Slack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.app import JerryApp
from bot.relay.lead_actions import update_lead_dm
from bot.similar.merge import merge_item
from models.base import utcnow
from models.conversation import RelayedMessage
from models.deliveries import Delivery
from models.items import Item
from models.routing import Team
from models.users import SlackUser
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_home import add_items, click_home, item_ids, open_home
from tests.test_e2e_lead_actions import reopen_as_reporter, reporter_message, submit_resolve
from tests.test_e2e_relay import (
    LEAD,
    REPORTER,
    STRANGER,
    everything,
    from_modal,
    load_item,
    submit_answer,
    undelivered,
)

pytestmark = pytest.mark.usefixtures("routed")
FRENCH = "U0FRENCH"
GENERAL = "C0GENERAL"


# --- setting up: a kept item and its followers ------------------------------------------------


@dataclass
class Followed:
    kept: Item  # K, by REPORTER, for Acme
    french: Item  # FRENCH's mention in #general: its reply thread is there
    anonymous: Item  # STRANGER's, anonymous, for Globex: answered by DM
    own: Item  # a second item of K's own reporter
    french_again: Item  # FRENCH follows K with a second item


async def mention(slack: SlackDriver, text: str, *, user: str) -> Item:
    _, body = await slack.mention(f"<@{BOT_USER_ID}> {text}", user=user)
    assert body["event"]["ts"]
    await slack.settle()
    return await load_item(slack.app)


async def merge(jerry: JerryApp, item_id: int, into_id: int) -> None:
    """`item_id` merged into `into_id`, and the kept item's card re-rendered (what the lead
    side's merge owes along with its notices)."""
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        into = await session.get(Item, into_id)
        assert item is not None and into is not None
        await merge_item(session, item, into, LEAD, by="lead")
        update_lead_dm(session, into)
        await session.commit()


async def followed(slack: SlackDriver) -> Followed:
    kept = await from_modal(slack, "The invoice total is wrong on every PDF", customer="Acme")
    french = await mention(slack, "le total de la facture PDF est faux", user=FRENCH)
    anonymous = await from_modal(
        slack,
        "Invoice PDFs add the VAT twice",
        customer="Globex",
        flags=("anonymous",),
        user=STRANGER,
    )
    own = await from_modal(slack, "Invoice totals are wrong again")
    french_again = await mention(slack, "encore une facture au total faux", user=FRENCH)
    for follower in (french, anonymous, own, french_again):
        await merge(slack.app, follower.id, kept.id)
    await slack.settle()
    return Followed(
        kept=await load_item(slack.app, kept.id),
        french=await load_item(slack.app, french.id),
        anonymous=await load_item(slack.app, anonymous.id),
        own=await load_item(slack.app, own.id),
        french_again=await load_item(slack.app, french_again.id),
    )


# --- reading what Jerry posted ----------------------------------------------------------------


def card(fake: FakeSlack, item: Item) -> dict[str, Any]:
    """The item's lead card as it is now."""
    message = fake.message(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert message is not None
    return message


async def click_card(slack: SlackDriver, item: Item, action_id: str, *, user: str = LEAD) -> None:
    response = await slack.click(
        card(slack.fake, item), item.lead_dm_channel or "", action_id, user=user
    )
    assert response.status_code == 200, response.text
    await slack.settle()


def about(item_id: int, lang: str = "en") -> str:
    """The words that say a message is news of the kept item `item_id`."""
    return f"Update on #{item_id}," if lang == "en" else f"Du nouveau sur la demande n° {item_id},"


def jerry_in_thread(fake: FakeSlack, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in fake.thread(channel, thread_ts) if m.get("user") == BOT_USER_ID]


def news_in_thread(fake: FakeSlack, item: Item, kept_id: int, lang: str) -> list[dict[str, Any]]:
    """Jerry's news of `kept_id` in the reply thread of `item` (a mention's)."""
    assert item.reply_channel and item.reply_thread_ts
    messages = jerry_in_thread(fake, item.reply_channel, item.reply_thread_ts)
    return [m for m in messages if about(kept_id, lang) in everything(m)]


def news_by_dm(fake: FakeSlack, user: str, kept_id: int, lang: str = "en") -> list[dict[str, Any]]:
    messages = [fake.message(c.response["channel"], c.response["ts"]) for c in fake.dms_to(user)]
    return [m for m in messages if m is not None and about(kept_id, lang) in everything(m)]


def not_to(fake: FakeSlack, user: str) -> str:
    """Everything Jerry posted, published or updated anywhere but in `user`'s own DM."""
    own = fake.dm_channel(user)
    calls = [
        c
        for c in fake.calls
        if c.method in {"chat.postMessage", "chat.update", "views.publish", "views.open"}
        and c.args.get("channel") not in {own, user}
        and c.args.get("user_id") != user
    ]
    return json.dumps([c.args for c in calls], ensure_ascii=False)


async def answer_kept(slack: SlackDriver, kept: Item, text: str) -> None:
    await click_card(slack, kept, "item_answer")
    view = slack.last_view()
    assert view["callback_id"] == "jerry_answer"
    assert await submit_answer(slack, view, text) is None


async def resolve_kept(slack: SlackDriver, kept: Item, outcome: str, *, note: str = "") -> None:
    await click_card(slack, kept, "item_resolve")
    view = slack.last_view()
    assert view["callback_id"] == "jerry_resolve"
    await submit_resolve(slack, view, outcome, note=note, customer="kept")


async def deliveries(jerry: JerryApp, purpose: str) -> list[Delivery]:
    async with jerry.sessions() as session:
        rows = await session.execute(
            select(Delivery).where(Delivery.purpose == purpose).order_by(Delivery.id)
        )
        return list(rows.scalars())


# --- the news of the kept item ----------------------------------------------------------------


async def test_the_leads_answer_reaches_every_follower_in_their_own_thread_and_language_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    k = f.kept.id
    await answer_kept(slack, f.kept, "Fixed in <!here> the next release, 4.2")

    # K's reporter has the answer in their thread, as before.
    answer = reporter_message(fake_slack)[1]
    assert f"answered your pain point *#{k}*" in everything(answer)
    # The French follower: in the thread of their mention, in French, once (not again for
    # their second item, nor in a DM).
    [french] = news_in_thread(fake_slack, f.french, k, "fr")
    shown = everything(french)
    assert "qui regroupe aussi votre demande n° " + str(f.french.id) in shown
    assert "y a répondu" in shown and "the next release, 4.2" in shown
    assert "<!here>" not in shown
    assert not news_in_thread(fake_slack, f.french_again, k, "fr")
    assert not news_by_dm(fake_slack, FRENCH, k, "fr")
    # The anonymous follower: by DM (their item came from the form), about their own item.
    [anonymous] = news_by_dm(fake_slack, STRANGER, k)
    assert f"which your pain point #{f.anonymous.id} follows" in everything(anonymous)
    assert "Invoice PDFs add the VAT twice" in everything(anonymous)
    # K's own reporter follows K with another item: told once, as K's reporter.
    assert not news_by_dm(fake_slack, REPORTER, k)
    # One delivery per person, each in its follower item's lane.
    owed = await deliveries(jerry, "follower_news")
    assert sorted(d.item_id or 0 for d in owed) == sorted([f.french.id, f.anonymous.id])
    assert {d.lane for d in owed} == {FRENCH, STRANGER}
    assert await undelivered(jerry) == []
    # The anonymous follower is never named to anyone.
    assert STRANGER not in not_to(fake_slack, STRANGER)
    assert not re.search(r"\bsam\b", not_to(fake_slack, STRANGER), re.IGNORECASE)


async def test_someone_taking_it_its_resolution_and_its_reopening_reach_the_followers(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    k = f.kept.id
    await click_card(slack, f.kept, "item_acknowledge")
    [taken] = news_in_thread(fake_slack, f.french, k, "fr")
    assert "l’a prise en charge" in everything(taken)
    [taken] = news_by_dm(fake_slack, STRANGER, k)
    assert "(Payments) is on it." in everything(taken)

    await resolve_kept(slack, await load_item(jerry, k), "fixed", note="Shipped in 4.2")
    resolved = news_by_dm(fake_slack, STRANGER, k)[-1]
    assert "resolved it: fixed." in everything(resolved)
    assert "Shipped in 4.2" in everything(resolved)
    assert "Still a problem for you? Write it in this thread." in everything(resolved)
    assert "l’a résolue, avec pour issue\u00a0: corrigé." in everything(
        news_in_thread(fake_slack, f.french, k, "fr")[-1]
    )
    # Resolving K closes nothing else: its followers stay closed as its duplicates.
    for follower in (f.french, f.anonymous, f.own, f.french_again):
        row = await load_item(jerry, follower.id)
        assert (row.status, row.outcome, row.merged_into) == ("resolved", "duplicate", k)

    # The lead reopens it: followers hear it, with who.
    await click_card(slack, await load_item(jerry, k), "item_reopen")
    reopened = news_by_dm(fake_slack, STRANGER, k)[-1]
    assert "reopened it: they will look at it again." in everything(reopened)
    assert len(news_in_thread(fake_slack, f.french, k, "fr")) == 3

    # Resolved again, then reopened by K's own reporter: followers hear it was reopened, and
    # neither who did it nor what they wrote.
    await resolve_kept(slack, await load_item(jerry, k), "fixed")
    channel, message = reporter_message(fake_slack)
    await reopen_as_reporter(slack, message, channel, what="Still wrong for my Acme invoices")
    reopened = news_by_dm(fake_slack, STRANGER, k)[-1]
    assert "It was reopened: the team will look at it again." in everything(reopened)
    assert "Acme invoices" not in everything(reopened)
    assert REPORTER not in everything(reopened)
    assert len(news_by_dm(fake_slack, STRANGER, k)) == 5
    assert not news_by_dm(fake_slack, REPORTER, k)
    assert await undelivered(jerry) == []


async def test_a_follower_unmerged_before_the_news_went_out_does_not_get_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    await jerry.worker.stop()  # the news waits in the outbox until the drain below
    await click_card(slack, f.kept, "item_answer")
    view = slack.last_view()
    values = {"answer": {"value": payloads.input_value("A known limit of the PDF export")}}
    assert (await slack.submit(view, values, user=LEAD)).status_code == 200
    await slack.listeners_done()
    assert len(await deliveries(jerry, "follower_news")) == 2
    async with jerry.sessions() as session:
        follower = await session.get(Item, f.anonymous.id)
        assert follower is not None
        follower.merged_into = None  # as an unmerge leaves it
        await session.commit()
    await slack.settle()
    assert news_in_thread(fake_slack, f.french, f.kept.id, "fr")
    assert not news_by_dm(fake_slack, STRANGER, f.kept.id)
    assert await undelivered(jerry) == []


async def test_a_follower_who_left_slack_is_not_written_to(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    async with jerry.sessions() as session:
        person = await session.get(SlackUser, STRANGER)
        if person is None:
            session.add(SlackUser(id=STRANGER, name="sam", deleted=True))
        else:
            person.deleted = True
        await session.commit()
    await answer_kept(slack, f.kept, "A known limit of the PDF export")
    assert [d.item_id for d in await deliveries(jerry, "follower_news")] == [f.french.id]
    assert news_in_thread(fake_slack, f.french, f.kept.id, "fr")
    assert await undelivered(jerry) == []


# --- a follower writing under their merged item -----------------------------------------------


async def test_a_follower_writing_under_their_item_reaches_the_kept_items_lead_as_a_follower(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    k = f.kept
    assert f.french.reply_channel and f.french.reply_thread_ts
    thread = {"channel": GENERAL, "thread_ts": f.french.reply_thread_ts}

    async def french_writes(text: str) -> dict[str, Any]:
        ts = fake_slack.add_message(GENERAL, FRENCH, text, thread_ts=thread["thread_ts"])["ts"]
        body = payloads.thread_message(text, user=FRENCH, ts=ts, **thread)
        assert (await slack.event(body)).status_code == 200
        await slack.settle()
        return body

    body = await french_writes("Chez nous aussi, depuis lundi")
    copies = jerry_in_thread(fake_slack, k.lead_dm_channel or "", k.lead_dm_ts or "")
    [copy] = [m for m in copies if "depuis lundi" in everything(m)]
    assert f"wrote about *#{f.french.id}*, which follows *#{k.id}*" in everything(copy)
    assert f"Replies in this thread go to the reporter of #{k.id} only" in everything(copy)
    # The follower hears once where it went.
    [told] = [
        m
        for m in jerry_in_thread(fake_slack, GENERAL, f.french.reply_thread_ts)
        if "a transmis votre message" in everything(m)
    ]
    assert f"qui traite la demande *n° {k.id}*" in everything(told)
    await french_writes("Et sur les avoirs")
    assert (
        len(
            [
                m
                for m in jerry_in_thread(fake_slack, GENERAL, f.french.reply_thread_ts)
                if "a transmis votre message" in everything(m)
            ]
        )
        == 1
    )
    assert (
        len(jerry_in_thread(fake_slack, k.lead_dm_channel or "", k.lead_dm_ts or ""))
        == len(copies) + 1
    )
    # An edit reaches the copy in K's thread.
    edit = payloads.message_changed(
        user=FRENCH,
        channel=GENERAL,
        ts=body["event"]["ts"],
        text="Chez nous aussi, depuis mardi",
        thread_ts=f.french.reply_thread_ts,
    )
    assert (await slack.event(edit)).status_code == 200
    await slack.settle()
    assert "depuis mardi" in everything(fake_slack.message(k.lead_dm_channel or "", copy["ts"]))
    async with jerry.sessions() as session:
        rows = (await session.execute(select(RelayedMessage))).scalars().all()
        assert {(r.item_id, r.to_item_id, r.status) for r in rows} == {
            (f.french.id, k.id, "edited"),
            (f.french.id, k.id, "relayed"),
        }
    # K is still waiting for its own reporter, whatever followers write.
    assert (await load_item(jerry, k.id)).status == "open"


async def test_an_anonymous_followers_message_does_not_name_them_to_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    k = f.kept
    dm = fake_slack.dms_to(STRANGER)
    # Their item came from the form: the thread of Jerry's first DM about it is theirs.
    await answer_kept(slack, k, "Being fixed")
    follower = await load_item(jerry, f.anonymous.id)
    assert follower.reporter_dm_ts and len(fake_slack.dms_to(STRANGER)) == len(dm) + 1
    ts = fake_slack.add_message(
        "D0STRANGER", STRANGER, "Same here", thread_ts=follower.reporter_dm_ts
    )
    body = payloads.thread_message(
        "Same here",
        user=STRANGER,
        channel="D0STRANGER",
        thread_ts=follower.reporter_dm_ts,
        ts=ts["ts"],
        channel_type="im",
    )
    assert (await slack.event(body)).status_code == 200
    await slack.settle()
    [copy] = [
        m
        for m in jerry_in_thread(fake_slack, k.lead_dm_channel or "", k.lead_dm_ts or "")
        if "Same here" in everything(m)
    ]
    assert f"The reporter of *#{follower.id}*, which follows *#{k.id}*, wrote:" in everything(copy)
    assert STRANGER not in not_to(fake_slack, STRANGER)


async def test_once_the_kept_item_is_resolved_a_followers_message_is_held_with_a_new_question(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    f = await followed(slack)
    k = f.kept
    await resolve_kept(slack, k, "wont_fix")
    lead_thread = jerry_in_thread(fake_slack, k.lead_dm_channel or "", k.lead_dm_ts or "")
    assert f.french.reply_thread_ts
    ts = fake_slack.add_message(
        GENERAL, FRENCH, "Toujours faux", thread_ts=f.french.reply_thread_ts
    )
    body = payloads.thread_message(
        "Toujours faux",
        user=FRENCH,
        channel=GENERAL,
        thread_ts=f.french.reply_thread_ts,
        ts=ts["ts"],
    )
    assert (await slack.event(body)).status_code == 200
    await slack.settle()
    # Nothing reaches K's lead, nor reopens anything.
    assert jerry_in_thread(fake_slack, k.lead_dm_channel or "", k.lead_dm_ts or "") == lead_thread
    assert (await load_item(jerry, k.id)).status == "resolved"
    [held] = [
        m
        for m in jerry_in_thread(fake_slack, GENERAL, f.french.reply_thread_ts)
        if "n’a donc pas transmis votre message" in everything(m)
    ]
    assert "(issue\u00a0: ne sera pas corrigé)" in everything(held)
    assert [
        e["action_id"] for b in held["blocks"] if b["type"] == "actions" for e in b["elements"]
    ] == ["item_new_question"]
    # "Ask a new question" opens the form with what they wrote.
    response = await slack.click(held, GENERAL, "item_new_question", user=FRENCH)
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    text = next(b for b in view["blocks"] if b.get("block_id") == "text")["element"]
    assert text.get("initial_value") == "Toujours faux"


# --- demand -----------------------------------------------------------------------------------


async def test_the_kept_items_card_shows_its_demand_once_others_follow_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await from_modal(slack, "The invoice total is wrong on every PDF", customer="Acme")
    before = card(fake_slack, kept)
    assert "Asked for by" not in everything(before)  # one item, one reporter: as always
    f = await followed_into(slack, kept)
    after = card(fake_slack, f)
    assert "*Asked for by*\\n3 people · 2 customers (Acme, Globex)" in everything(after)
    # The same for the French lead of another item? The card is the lead's: English here,
    # and the words are counted the same in French (golden files show both).


async def followed_into(slack: SlackDriver, kept: Item) -> Item:
    french = await mention(slack, "le total de la facture PDF est faux", user=FRENCH)
    anonymous = await from_modal(
        slack,
        "Invoice PDFs add the VAT twice",
        customer="Globex",
        flags=("anonymous",),
        user=STRANGER,
    )
    own = await from_modal(slack, "Invoice totals are wrong again", customer="acme")
    for follower in (french, anonymous, own):
        await merge(slack.app, follower.id, kept.id)
    await slack.settle()
    return await load_item(slack.app, kept.id)


async def follow_with(jerry: JerryApp, kept_id: int, *people: tuple[str, str | None]) -> None:
    """Items by `people` ((reporter, customer)) merged into `kept_id`."""
    async with jerry.sessions() as session:
        kept = await session.get(Item, kept_id)
        team = (await session.execute(select(Team).where(Team.name == "Payments"))).scalar_one()
        assert kept is not None
        for reporter, customer in people:
            item = Item(
                kind="painpoint",
                status="open",
                text=f"same as #{kept_id}",
                reporter_id=reporter,
                customer=customer,
                source="command",
                language="en",
                route_step="keywords",
                route_detail={},
                team_id=team.id,
                assignee_id=team.lead,
                created_at=utcnow() - timedelta(minutes=1),
            )
            session.add(item)
            await session.flush()
            await merge_item(session, item, kept, LEAD, by="lead")
        await session.commit()


async def test_the_home_queue_sorts_by_demand_with_paging_and_keeps_the_choice(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    ids = await add_items(jerry, 20)
    await follow_with(jerry, ids[5], ("U0F1", None), ("U0F2", None), ("U0F3", "Initech"))
    await follow_with(jerry, ids[12], ("U0F4", None), ("U0F5", None))
    await follow_with(jerry, ids[17], ("U0F6", "Acme"))
    await follow_with(jerry, ids[3], ("U0F7", None))
    await follow_with(jerry, ids[9], ("U0REPORTER", None))  # its own reporter again: 1 person

    home = await open_home(slack, LEAD)
    assert home is not None
    assert item_ids(home, "home_q_actions_") == ids[:8]  # oldest first, as always
    menu = next(b for b in home["blocks"] if b.get("block_id") == "home_queue_sort")
    assert menu["accessory"]["initial_option"]["value"] == "oldest"

    home = await choose_sort(slack, LEAD, "demand")
    most_asked = [ids[5], ids[12], ids[17], ids[3]]
    rest = [i for i in ids if i not in most_asked]
    assert item_ids(home, "home_q_actions_") == most_asked + rest[:4]
    shown = everything(home)
    assert "4 people · 1 customer (Initech)" in shown
    assert "2 people · 1 customer (Acme)" in shown
    menu = next(b for b in home["blocks"] if b.get("block_id") == "home_queue_sort")
    assert menu["accessory"]["initial_option"]["value"] == "demand"
    # Paging keeps the order: every open item once, merged ones never.
    pages = list(item_ids(home, "home_q_actions_"))
    while "home_more" in everything(home):
        home = await click_home(slack, LEAD, "home_more")
        pages += item_ids(home, "home_q_actions_")
    assert pages == most_asked + rest
    # The choice is kept: a new open of the tab shows the queue most asked for first.
    home = await open_home(slack, LEAD)
    assert home is not None and item_ids(home, "home_q_actions_") == most_asked + rest[:4]
    # Newest first, then a value Jerry does not know: the Home as it was.
    home = await choose_sort(slack, LEAD, "newest")
    assert item_ids(home, "home_q_actions_") == list(reversed(ids))[:8]
    home = await choose_sort(slack, LEAD, "loudest")
    assert item_ids(home, "home_q_actions_") == list(reversed(ids))[:8]


async def choose_sort(slack: SlackDriver, user: str, value: str) -> dict[str, Any]:
    view = slack.fake.home[user]
    body = payloads.home_select(
        user=user, view=view, action_id="home_queue_sort", value=value, block_id="home_queue_sort"
    )
    response = await slack.interactive(body)
    assert response.status_code == 200, response.text
    await slack.settle()
    return slack.fake.home[user]


async def test_sorting_the_queue_by_demand_costs_the_same_queries_for_20_or_200_items(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("INSERT", "UPDATE")):
            statements.append(statement)

    await jerry.worker.stop()  # its polling of the outbox would be counted too
    home = await open_home(slack, LEAD)
    assert home is not None
    await choose_sort(slack, LEAD, "demand")
    costs = []
    for n, more in enumerate((20, 180)):
        ids = await add_items(jerry, more)
        people = [("U0F1", "Acme"), ("U0F2", None), ("U0F3", None)][: n + 2]
        await follow_with(jerry, ids[-1], *people)  # more than the round before
        await jerry.home.render(LEAD)
        statements.clear()
        event.listen(jerry.engine.sync_engine, "before_cursor_execute", count)
        try:
            view = await jerry.home.render(LEAD)
        finally:
            event.remove(jerry.engine.sync_engine, "before_cursor_execute", count)
        assert item_ids(view, "home_q_actions_")[0] == ids[-1]  # the most asked for first
        assert f"{n + 3} people · 1 customer (Acme)" in everything(view)
        costs.append(len(statements))
    assert costs[0] == costs[1]
