"""Jerry's Jira and Linear clients, over real HTTP against the fake servers of
tests/faketrackers.py: creating, linking, reading and polling issues, paging, the trackers'
failures (401, rate limits, 5xx, a server that never answers) as TrackerError, and the
webhook deliveries (parsing and signatures). No database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.trackers.domain import (
    CANCELED,
    DONE,
    IN_PROGRESS,
    JIRA,
    LINEAR,
    TODO,
    IssueNotFound,
    TrackerError,
)
from bot.trackers.jira import JiraClient, adf_document
from bot.trackers.jira import parse_webhook as parse_jira_webhook
from bot.trackers.linear import LinearClient
from bot.trackers.linear import parse_webhook as parse_linear_webhook
from bot.trackers.signatures import (
    fresh,
    jira_signature_ok,
    linear_signature_ok,
    sign_jira,
    sign_linear,
)
from tests.faketrackers import FakeJira, FakeLinear

SHORT = 0.3  # seconds: the timeout of the clients that meet a hanging server


@pytest.fixture
async def jira_server() -> AsyncIterator[FakeJira]:
    server = FakeJira()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def linear_server() -> AsyncIterator[FakeLinear]:
    server = FakeLinear()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def jira(jira_server: FakeJira) -> AsyncIterator[JiraClient]:
    async with JiraClient(jira_server.base, jira_server.email, jira_server.token) as client:
        yield client


@pytest.fixture
async def linear(linear_server: FakeLinear) -> AsyncIterator[LinearClient]:
    async with LinearClient(linear_server.api_key, url=linear_server.url) as client:
        yield client


# --- Jira: issues ------------------------------------------------------------------------


async def test_jira_create_issue_sends_adf_and_reads_the_new_issue_back(
    jira: JiraClient, jira_server: FakeJira
) -> None:
    jira_server.add_project("PAY", issue_types=["Task", "Bug"])
    description = adf_document(
        ["Invoices show the wrong VAT.\nSince Monday.", "", "  ", "Three customers — 請求書"],
        ("Slack thread", "https://acme.slack.com/archives/C1/p1"),
    )

    issue = await jira.create_issue("PAY", "Bug", "Wrong VAT on invoices", description)

    assert issue.tracker == JIRA and issue.key == "PAY-1"
    assert issue.external_id == jira_server.issues["PAY-1"].id
    assert issue.url == f"{jira_server.base}/browse/PAY-1"
    assert (issue.title, issue.status, issue.stage) == ("Wrong VAT on invoices", "To Do", TODO)
    assert issue.updated == "2026-03-01T09:01:00.000+0000" and issue.release is None
    # Jira received the fields as its API names them, and the document as sent.
    create = next(seen for seen in jira_server.requests if seen.method == "POST")
    assert create.path == "/rest/api/3/issue"
    assert create.json == {
        "fields": {
            "project": {"key": "PAY"},
            "issuetype": {"name": "Bug"},
            "summary": "Wrong VAT on invoices",
            "description": description,
        }
    }
    assert jira_server.issues["PAY-1"].description == description
    assert create.headers["Accept"] == "application/json"
    assert create.headers["User-Agent"].startswith("Jerry/")
    # Empty paragraphs are skipped, line breaks kept, the link is a marked text node.
    assert description == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Invoices show the wrong VAT."},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Since Monday."},
                ],
            },
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Three customers — 請求書"}],
            },
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "Slack thread",
                        "marks": [
                            {
                                "type": "link",
                                "attrs": {"href": "https://acme.slack.com/archives/C1/p1"},
                            }
                        ],
                    }
                ],
            },
        ],
    }
    # Then the issue was read back with the fields Jerry needs.
    read = jira_server.requests[-1]
    assert (read.method, read.path) == ("GET", "/rest/api/3/issue/PAY-1")
    assert set(read.query["fields"].split(",")) >= {"summary", "status", "fixVersions", "updated"}


async def test_jira_create_issue_refused_says_why(jira: JiraClient, jira_server: FakeJira) -> None:
    jira_server.add_project("PAY", issue_types=["Task"])

    with pytest.raises(TrackerError) as refused:
        await jira.create_issue("PAY", "Epic", "x", adf_document(["y"]))
    assert refused.value.code == "bad_request" and not refused.value.retry
    assert refused.value.status == 400
    assert "issuetype: Specify a valid issue type" in refused.value.message

    with pytest.raises(TrackerError) as unknown:
        await jira.create_issue("NOPE", "Task", "x", adf_document(["y"]))
    assert "project: valid project is required" in unknown.value.message
    assert jira_server.issues == {}


async def test_jira_remote_link_once_per_url(jira: JiraClient, jira_server: FakeJira) -> None:
    issue = jira_server.add_issue("PAY", "Checkout slow")
    url = "https://acme.slack.com/archives/C1/p1"

    await jira.add_remote_link(issue.key, url, "Slack thread")
    await jira.add_remote_link(issue.key, url, "Slack thread (renamed)")  # a retry: no second

    assert list(issue.remote_links) == [url]
    assert issue.remote_links[url]["object"] == {"url": url, "title": "Slack thread (renamed)"}
    sent = [seen for seen in jira_server.requests if seen.path.endswith("/remotelink")]
    assert sent[0].path == f"/rest/api/3/issue/{issue.key}/remotelink"
    assert sent[0].json == {"globalId": url, "object": {"url": url, "title": "Slack thread"}}
    assert [seen.status for seen in sent] == [201, 200]

    with pytest.raises(IssueNotFound) as missing:
        await jira.add_remote_link("PAY-99", url, "Slack thread")
    assert missing.value.key == "PAY-99"


async def test_jira_get_issue_status_category_and_released_fix_version(
    jira: JiraClient, jira_server: FakeJira
) -> None:
    issue = jira_server.add_issue("PAY", "Export to CSV")

    assert (await jira.get_issue(issue.key)).stage == TODO
    jira_server.move(issue.key, "In Review", "indeterminate")
    state = await jira.get_issue(issue.key)
    assert (state.status, state.stage, state.shipped) == ("In Review", IN_PROGRESS, False)

    jira_server.release(issue.key, "2.4.0", "Spring release", released=False)  # not out yet
    jira_server.move(issue.key, "Done", "done", resolution="Done")
    state = await jira.get_issue(issue.key)
    assert (state.status, state.stage, state.release, state.shipped) == ("Done", DONE, None, True)

    jira_server.release(issue.key, "2.5.0", "CSV export and more")
    state = await jira.get_issue(issue.key)
    assert (state.release, state.release_note) == ("2.5.0", "CSV export and more")
    assert state.updated == "2026-03-01T09:05:00.000+0000"

    # Closed without doing it: done by category, but nothing shipped.
    other = jira_server.add_issue("PAY", "Dark mode")
    jira_server.move(other.key, "Closed", "done", resolution="Won't Do")
    state = await jira.get_issue(other.key)
    assert (state.stage, state.shipped) == (CANCELED, False)


async def test_jira_get_missing_issue_is_issue_not_found(jira: JiraClient) -> None:
    with pytest.raises(IssueNotFound) as missing:
        await jira.get_issue("PAY-404")
    assert missing.value.key == "PAY-404" and missing.value.status == 404
    assert not missing.value.retry


async def test_jira_search_follows_pages_chunks_keys_and_skips_missing(
    jira: JiraClient, jira_server: FakeJira
) -> None:
    jira_server.page_size = 7
    issues = [jira_server.add_issue("PAY", f"Issue {n}") for n in range(1, 231)]
    keys = [issue.key for issue in issues] + ["PAY-999", "not a key"]

    found = await jira.search(keys)

    assert sorted(state.key for state in found) == sorted(issue.key for issue in issues)
    searches = [seen for seen in jira_server.requests if seen.path == "/rest/api/3/search/jql"]
    firsts = [seen.json for seen in searches if "nextPageToken" not in seen.json]
    # 231 valid keys: three JQL queries of at most 100 keys; the one naming PAY-999 is asked
    # again without it.
    assert [len(body["jql"].split(",")) for body in firsts] == [100, 100, 31, 30]
    assert firsts[0]["jql"].startswith("key in (PAY-1, PAY-2, ")
    assert firsts[0]["maxResults"] == 100
    assert set(firsts[0]["fields"]) >= {"summary", "status", "fixVersions", "updated"}
    assert len(searches) == 15 + 15 + 1 + 5  # pages of 7
    assert all(seen.status == 200 for seen in searches if "PAY-999" not in seen.json["jql"])


async def test_jira_search_updated_since(jira: JiraClient, jira_server: FakeJira) -> None:
    old = jira_server.add_issue("PAY", "Old")
    moved = jira_server.add_issue("PAY", "Moved")
    jira_server.now = datetime(2026, 3, 5, 15, 30, tzinfo=UTC)
    jira_server.move(moved.key, "In Progress", "indeterminate")

    found = await jira.search([old.key, moved.key], updated_since="2026-03-05T12:00:00.000+0000")

    assert [(state.key, state.stage) for state in found] == [(moved.key, IN_PROGRESS)]
    jql = jira_server.requests[-1].json["jql"]
    # JQL reads the date in the account's zone: it is asked 12 hours early, in Jira's format.
    assert jql == f'key in ({old.key}, {moved.key}) AND updated >= "2026/03/05 00:00"'
    assert await jira.search([]) == []


async def test_jira_issue_types_paged_without_subtasks(
    jira: JiraClient, jira_server: FakeJira
) -> None:
    jira_server.page_size = 2
    jira_server.add_project("PAY", issue_types=["Task", "Bug", "Story", "Epic", "Incident"])

    assert await jira.issue_types("PAY") == ["Task", "Bug", "Story", "Epic", "Incident"]

    pages = [seen for seen in jira_server.requests if "createmeta" in seen.path]
    assert pages[0].path == "/rest/api/3/issue/createmeta/PAY/issuetypes"
    assert [seen.query["startAt"] for seen in pages] == ["0", "2", "4"]
    with pytest.raises(TrackerError) as unknown:
        await jira.issue_types("NOPE")
    assert unknown.value.code == "not_found" and "NOPE" in unknown.value.message


# --- Jira: failures ----------------------------------------------------------------------


async def test_jira_wrong_credentials_unauthorized(jira_server: FakeJira) -> None:
    jira_server.add_issue("PAY", "x")
    async with JiraClient(jira_server.base, jira_server.email, "wrong-token") as client:
        with pytest.raises(TrackerError) as refused:
            await client.get_issue("PAY-1")
    assert refused.value.code == "unauthorized" and not refused.value.retry
    assert refused.value.status == 401
    assert "must be authenticated" in refused.value.message


async def test_jira_rate_limited_retry_after(jira: JiraClient, jira_server: FakeJira) -> None:
    jira_server.add_issue("PAY", "x")
    jira_server.fail("429")

    with pytest.raises(TrackerError) as limited:
        await jira.get_issue("PAY-1")
    assert (limited.value.code, limited.value.retry, limited.value.retry_after) == (
        "rate_limited",
        True,
        1,
    )
    assert (await jira.get_issue("PAY-1")).key == "PAY-1"  # the next request goes through


async def test_jira_server_error_and_401_failure(jira: JiraClient, jira_server: FakeJira) -> None:
    jira_server.add_issue("PAY", "x")
    jira_server.fail("500", times=2)
    for _ in range(2):
        with pytest.raises(TrackerError) as broken:
            await jira.search(["PAY-1"])
        assert (broken.value.code, broken.value.retry, broken.value.status) == (
            "unavailable",
            True,
            500,
        )
    jira_server.fail("401")
    with pytest.raises(TrackerError) as refused:
        await jira.issue_types("PAY")
    assert refused.value.code == "unauthorized"
    assert len(await jira.search(["PAY-1"])) == 1


async def test_jira_hanging_server_times_out_as_retry(jira_server: FakeJira) -> None:
    jira_server.add_project("PAY")
    jira_server.fail("hang")
    async with JiraClient(
        jira_server.base, jira_server.email, jira_server.token, timeout=SHORT
    ) as client:
        with pytest.raises(TrackerError) as slow:
            await client.create_issue("PAY", "Task", "x", adf_document(["y"]))
    assert (slow.value.code, slow.value.retry) == ("timeout", True)


async def test_jira_unreachable_is_retry() -> None:
    async with JiraClient("http://127.0.0.1:9", "a@example.com", "t", timeout=SHORT) as client:
        with pytest.raises(TrackerError) as down:
            await client.get_issue("PAY-1")
    assert down.value.retry and down.value.code in ("unreachable", "timeout")


# --- Jira: webhooks ----------------------------------------------------------------------


async def test_jira_webhook_parsed_and_signed(jira_server: FakeJira) -> None:
    issue = jira_server.add_issue("PAY", "Export to CSV")
    jira_server.move(issue.key, "Done", "done", resolution="Done")
    jira_server.release(issue.key, "2.5.0", "CSV export")
    body, headers = jira_server.webhook(issue.key, identifier="77")

    assert jira_signature_ok(jira_server.webhook_secret, body, headers["X-Hub-Signature"])
    assert headers["X-Atlassian-Webhook-Identifier"] == "77"
    assert headers["X-Hub-Signature"].startswith("sha256=")
    payload = json.loads(body)
    assert fresh(payload["timestamp"], jira_server.now)
    state = parse_jira_webhook(payload, jira_server.base + "/")
    assert state is not None
    assert (state.key, state.external_id, state.status, state.stage) == (
        issue.key,
        issue.id,
        "Done",
        DONE,
    )
    assert (state.release, state.release_note) == ("2.5.0", "CSV export")
    assert state.url == f"{jira_server.base}/browse/{issue.key}"

    created, _ = jira_server.webhook(issue.key, event="jira:issue_created")
    assert parse_jira_webhook(json.loads(created), jira_server.base) is not None
    for event in ("jira:issue_deleted", "comment_created", "jira:version_released"):
        other, _ = jira_server.webhook(issue.key, event=event)
        assert parse_jira_webhook(json.loads(other), jira_server.base) is None
    assert parse_jira_webhook({"webhookEvent": "jira:issue_updated"}, jira_server.base) is None


# --- Linear: issues ----------------------------------------------------------------------


async def test_linear_create_issue_markdown_and_attachment(
    linear: LinearClient, linear_server: FakeLinear
) -> None:
    team_id = linear_server.add_team("ENG", "Engineering")
    markdown = (
        "Invoices show the wrong VAT.\n\n[Slack thread](https://acme.slack.com/archives/C1/p1)"
    )

    issue = await linear.create_issue("ENG", "Wrong VAT", markdown)

    assert issue.tracker == LINEAR and issue.key == "ENG-1"
    stored = linear_server.issues[issue.external_id]
    assert stored.description == markdown
    assert (issue.title, issue.status, issue.stage) == ("Wrong VAT", "Todo", TODO)
    assert issue.url == stored.url and issue.updated == "2026-03-01T09:01:00.000Z"
    sent = linear_server.requests
    assert [seen.path for seen in sent] == ["/graphql", "/graphql"]
    assert sent[0].json["variables"] == {"key": "ENG"}
    assert sent[1].json["variables"] == {
        "input": {"teamId": team_id, "title": "Wrong VAT", "description": markdown}
    }
    assert "issueCreate(input: $input)" in sent[1].json["query"]
    assert sent[1].headers["Authorization"] == linear_server.api_key  # no "Bearer"

    await linear.create_issue("ENG", "Second", "")
    assert len(linear_server.requests) == 3  # the team's id is asked once

    url = "https://acme.slack.com/archives/C1/p1"
    await linear.attach_link(issue.external_id, url, "Slack thread")
    await linear.attach_link(issue.external_id, url, "Slack thread")  # a retry: same one
    assert list(stored.attachments) == [url]
    assert stored.attachments[url]["title"] == "Slack thread"
    assert linear_server.requests[-1].json["variables"] == {
        "input": {"issueId": issue.external_id, "url": url, "title": "Slack thread"}
    }
    with pytest.raises(IssueNotFound):
        await linear.attach_link("00000000-0000-4000-8000-000000000000", url, "x")


async def test_linear_unknown_team(linear: LinearClient, linear_server: FakeLinear) -> None:
    linear_server.add_team("ENG")
    with pytest.raises(TrackerError) as unknown:
        await linear.create_issue("OPS", "x", "y")
    assert (unknown.value.code, unknown.value.message) == ("unknown_team", "OPS")
    assert linear_server.issues == {}


async def test_linear_get_issue_by_identifier_or_id_and_stages(
    linear: LinearClient, linear_server: FakeLinear
) -> None:
    issue = linear_server.add_issue("ENG", "Export", state=("Triage", "triage"))
    assert (await linear.get_issue("ENG-1")).stage == TODO
    for name, kind, stage in [
        ("Backlog", "backlog", TODO),
        ("Todo", "unstarted", TODO),
        ("In Progress", "started", IN_PROGRESS),
        ("Done", "completed", DONE),
        ("Canceled", "canceled", CANCELED),
    ]:
        linear_server.set_state("ENG-1", name, kind)
        state = await linear.get_issue(issue.id)
        assert (state.key, state.status, state.stage) == ("ENG-1", name, stage)
        assert state.release is None


async def test_linear_missing_issue_is_issue_not_found(linear: LinearClient) -> None:
    with pytest.raises(IssueNotFound) as missing:
        await linear.get_issue("ENG-404")
    assert missing.value.key == "ENG-404" and not missing.value.retry


async def test_linear_changed_issues_pages_chunks_and_since(
    linear: LinearClient, linear_server: FakeLinear
) -> None:
    linear_server.page_size = 4
    issues = [linear_server.add_issue("ENG", f"Issue {n}") for n in range(1, 61)]
    ids = [issue.id for issue in issues] + ["00000000-0000-4000-8000-000000000000"]

    found = await linear.changed_issues(ids)

    assert sorted(state.external_id for state in found) == sorted(ids[:-1])
    bodies = [seen.json["variables"] for seen in linear_server.requests]
    assert [len(body["filter"]["id"]["in"]) for body in bodies if body["after"] is None] == [
        50,
        11,
    ]
    assert len(bodies) == 13 + 3  # pages of 4
    assert all(body["first"] == 50 for body in bodies)
    assert "includeArchived: true" in linear_server.requests[0].json["query"]

    linear_server.now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    linear_server.set_state(issues[7].identifier, "Done", "completed")
    since = "2026-03-04T00:00:00.000Z"
    changed = await linear.changed_issues(ids, updated_since=since)
    assert [(state.key, state.stage) for state in changed] == [(issues[7].identifier, DONE)]
    assert linear_server.requests[-1].json["variables"]["filter"]["updatedAt"] == {"gt": since}
    assert await linear.changed_issues([]) == []


# --- Linear: failures --------------------------------------------------------------------


async def test_linear_wrong_key_unauthorized(linear_server: FakeLinear) -> None:
    async with LinearClient("lin_api_wrong", url=linear_server.url) as client:
        with pytest.raises(TrackerError) as refused:
            await client.team_id("ENG")
    assert (refused.value.code, refused.value.retry) == ("unauthorized", False)
    assert "authenticate" in refused.value.message


async def test_linear_rate_limited_retry_after(
    linear: LinearClient, linear_server: FakeLinear
) -> None:
    linear_server.add_issue("ENG", "x")
    linear_server.fail("429")

    with pytest.raises(TrackerError) as limited:
        await linear.get_issue("ENG-1")
    assert (limited.value.code, limited.value.retry, limited.value.retry_after) == (
        "rate_limited",
        True,
        1,
    )
    assert limited.value.status == 400  # Linear says it in a 400
    assert (await linear.get_issue("ENG-1")).key == "ENG-1"


async def test_linear_server_error_401_and_hang(linear_server: FakeLinear) -> None:
    linear_server.add_issue("ENG", "x")
    async with LinearClient(linear_server.api_key, url=linear_server.url, timeout=SHORT) as client:
        linear_server.fail("500")
        with pytest.raises(TrackerError) as broken:
            await client.get_issue("ENG-1")
        assert (broken.value.code, broken.value.retry, broken.value.status) == (
            "unavailable",
            True,
            500,
        )
        linear_server.fail("401")
        with pytest.raises(TrackerError) as refused:
            await client.get_issue("ENG-1")
        assert refused.value.code == "unauthorized"
        linear_server.fail("hang")
        with pytest.raises(TrackerError) as slow:
            await client.get_issue("ENG-1")
        assert (slow.value.code, slow.value.retry) == ("timeout", True)
        assert (await client.get_issue("ENG-1")).key == "ENG-1"


# --- Linear: webhooks --------------------------------------------------------------------


async def test_linear_webhook_parsed_and_signed(linear_server: FakeLinear) -> None:
    issue = linear_server.add_issue("ENG", "Export")
    linear_server.set_state(issue.identifier, "Done", "completed")
    body, headers = linear_server.webhook(issue.identifier, delivery="d-1")

    assert linear_signature_ok(linear_server.webhook_secret, body, headers["Linear-Signature"])
    assert (headers["Linear-Delivery"], headers["Linear-Event"]) == ("d-1", "Issue")
    payload = json.loads(body)
    assert fresh(payload["webhookTimestamp"], linear_server.now)
    state = parse_linear_webhook(payload)
    assert state is not None
    assert (state.tracker, state.key, state.external_id) == (LINEAR, issue.identifier, issue.id)
    assert (state.status, state.stage, state.url) == ("Done", DONE, issue.url)
    assert state.updated == "2026-03-01T09:02:00.000Z"

    created, _ = linear_server.webhook(issue.identifier, action="create")
    assert parse_linear_webhook(json.loads(created)) is not None
    removed, _ = linear_server.webhook(issue.identifier, action="remove")
    assert parse_linear_webhook(json.loads(removed)) is None
    comment, comment_headers = linear_server.webhook(issue.identifier, type="Comment")
    assert comment_headers["Linear-Event"] == "Comment"
    assert parse_linear_webhook(json.loads(comment)) is None


# --- signatures --------------------------------------------------------------------------


def test_jira_signatures() -> None:
    body = b'{"webhookEvent": "jira:issue_updated"}'
    header = sign_jira("s3cret", body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert jira_signature_ok("s3cret", body, header)
    assert jira_signature_ok("s3cret", body, "SHA256=" + header[7:].upper())
    assert not jira_signature_ok("s3cret", body + b" ", header)  # forged body
    assert not jira_signature_ok("other", body, header)  # wrong secret
    assert not jira_signature_ok("s3cret", body, None)
    assert not jira_signature_ok("s3cret", body, "")
    assert not jira_signature_ok("s3cret", body, header[7:])  # no "sha256="
    assert not jira_signature_ok("s3cret", body, "sha1=" + header[7:])
    assert not jira_signature_ok("", body, sign_jira("", body))  # no secret: nothing trusted


def test_linear_signatures() -> None:
    body = b'{"type": "Issue"}'
    header = sign_linear("s3cret", body)
    assert len(header) == 64 and int(header, 16) >= 0
    assert linear_signature_ok("s3cret", body, header)
    assert not linear_signature_ok("s3cret", body.replace(b"Issue", b"Isuse"), header)
    assert not linear_signature_ok("other", body, header)
    assert not linear_signature_ok("s3cret", body, None)
    assert not linear_signature_ok("s3cret", body, "sha256=" + header)
    assert not linear_signature_ok("s3cret", body, "not hex at all é")
    assert not linear_signature_ok("", body, sign_linear("", body))


def test_fresh_timestamps() -> None:
    now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    ms = int(now.timestamp() * 1000)
    assert fresh(ms, now)
    assert fresh(ms - 4 * 60_000, now) and fresh(ms + 60_000, now)  # clocks drift a little
    assert not fresh(ms - 6 * 60_000, now)  # stale: a replay
    assert not fresh(ms + 6 * 60_000, now)
    assert not fresh(ms - 61_000, now, tolerance=timedelta(minutes=1))
    assert not fresh(None, now)
    assert not fresh(10**20, now)  # beyond any date
