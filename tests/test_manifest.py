"""manifest.yml: valid for Slack, and in step with what the app listens to and calls.

1. It validates against Slack's manifest JSON schema (the copy in tests/slack_samples/,
   its `$ref`s to raw.githubusercontent.com served from the local files: no network).
2. The slash commands, shortcuts and events it declares are exactly the ones the Bolt app
   listens to: the listeners are recorded as `create_app` registers them, and each declared
   one is sent, signed, to the running app, which must handle it (Bolt answers 404 otherwise).
3. Its bot scopes are exactly what the code needs: every Web API method the code calls, and
   every declared event, is covered, and no declared scope is unused.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7
from slack_bolt.async_app import AsyncApp

from bot.app import JerryApp, create_app
from bot.config import Settings
from models.users import SlackUser
from tests import payloads
from tests.conftest import count_rows
from tests.fakeslack import TOKEN, FakeSlack
from tests.harness import SIGNING_SECRET, SlackDriver

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parent / "slack_samples"  # a copy of ../shared/slack-samples
MANIFEST = REPO / "manifest.yml"
SCHEMA_URL_BASE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
SOURCE_DIRS = ("bot", "handlers", "models")  # the application code (not tests, not bench)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


# --- 1. Slack's schema ---------------------------------------------------------------------------


def _no_network(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)


def manifest_validator() -> Draft7Validator:
    resources = [
        (SCHEMA_URL_BASE + path.name, DRAFT7.create_resource(json.loads(path.read_text())))
        for path in sorted((SAMPLES / "manifest-schemas").glob("*.json"))
    ]
    assert resources, f"no manifest schemas in {SAMPLES / 'manifest-schemas'}"
    registry: Registry[Any] = Registry(retrieve=_no_network).with_resources(resources)  # type: ignore[call-arg]
    schema = json.loads((SAMPLES / "manifest.schema.json").read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


def schema_problems(validator: Draft7Validator, document: dict[str, Any]) -> list[str]:
    errors = list(validator.iter_errors(document))
    if not errors:
        return []
    # The top level is a oneOf over manifest versions: show the most relevant cause too.
    best = best_match(errors)
    causes = [best, *best.context] if best.context else [best]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in causes]


def test_manifest_is_valid_for_slack(manifest: dict[str, Any]) -> None:
    validator = manifest_validator()
    assert schema_problems(validator, manifest) == []
    # The versioned schema really was applied (its rules live in the $ref'd local file).
    broken = copy.deepcopy(manifest)
    broken["features"]["slash_commands"][0]["command"] = "painpoint"  # no leading slash
    assert schema_problems(validator, broken)
    broken = copy.deepcopy(manifest)
    broken["settings"]["interactivity"]["colour"] = "blue"  # not a manifest key
    assert schema_problems(validator, broken)


# --- 2. listeners and declarations -------------------------------------------------------------

# The AsyncApp methods that register listeners, by what they listen to.
COMMAND_METHODS = ("command",)
SHORTCUT_METHODS = ("shortcut", "global_shortcut", "message_shortcut")
EVENT_METHODS = ("event", "message")
INTERACTIVE_METHODS = (
    "action",
    "block_action",
    "attachment_action",
    "dialog_submission",
    "dialog_cancellation",
    "dialog_suggestion",
    "options",
    "block_suggestion",
    "view",
    "view_submission",
    "view_closed",
)
OTHER_METHODS = ("function", "step")  # custom steps: would need `functions` in the manifest
REGISTERING = COMMAND_METHODS + SHORTCUT_METHODS + EVENT_METHODS + INTERACTIVE_METHODS
REGISTERING += OTHER_METHODS


def _settings(database_url: str, api_url: str = "http://127.0.0.1:9/api/") -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        database_url=database_url,
        jerry_delivery_retry_seconds=0.05,
        # A DM is an item at once here (tests/test_e2e_dm_groups.py groups them).
        jerry_dm_group_seconds=0,
    )


@pytest.fixture
def listened(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, Any]]:
    """(AsyncApp method, its first argument) for every listener `create_app` registers."""
    registered: list[tuple[str, Any]] = []

    def recording(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def register(self: AsyncApp, *args: Any, **kwargs: Any) -> Any:
            constraint = args[0] if args else next(iter(kwargs.values()), None)
            registered.append((name, constraint))
            return original(self, *args, **kwargs)

        return register

    for name in REGISTERING:
        monkeypatch.setattr(AsyncApp, name, recording(name, getattr(AsyncApp, name)))
    # Building the app connects to nothing: the engine and the Web API client are lazy.
    jerry = create_app(_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    # Every listener came through a recorded method (none slipped past the recording).
    assert len(registered) == len(jerry.bolt._async_listeners), registered
    return registered


def _string(name: str, constraint: Any, key: str) -> str:
    value = constraint.get(key) if isinstance(constraint, dict) else constraint
    assert isinstance(value, str), (
        f"app.{name}({constraint!r}): listen to an exact {key} so the manifest can declare it"
    )
    return value


def declared_events(manifest: dict[str, Any]) -> set[str]:
    """The manifest's bot events as Bolt names them: message.im (and .channels …) are "message"."""
    events = manifest["settings"].get("event_subscriptions", {}).get("bot_events", [])
    return {event.split(".")[0] if event.startswith("message.") else event for event in events}


def test_manifest_declares_exactly_what_the_app_listens_to(
    manifest: dict[str, Any], listened: list[tuple[str, Any]]
) -> None:
    features = manifest["features"]
    unknown = [(name, c) for name, c in listened if name in OTHER_METHODS]
    assert not unknown, f"listeners this test does not know how to declare: {unknown}"

    commands = {_string(n, c, "command") for n, c in listened if n in COMMAND_METHODS}
    declared_commands = {entry["command"] for entry in features.get("slash_commands", [])}
    assert commands == declared_commands

    shortcuts = {_string(n, c, "callback_id") for n, c in listened if n in SHORTCUT_METHODS}
    declared_shortcuts = {(s["callback_id"], s["type"]) for s in features.get("shortcuts", [])}
    assert shortcuts == {callback_id for callback_id, _ in declared_shortcuts}
    # app.shortcut() takes both types; message_shortcut() and global_shortcut() only theirs.
    for name, constraint in listened:
        if name in ("global_shortcut", "message_shortcut"):
            kind = name.split("_")[0]
            assert (_string(name, constraint, "callback_id"), kind) in declared_shortcuts

    events = {
        "message" if n == "message" else _string(n, c, "type")
        for n, c in listened
        if n in EVENT_METHODS
    }
    assert events == declared_events(manifest)

    settings = manifest["settings"]
    if any(n in INTERACTIVE_METHODS + SHORTCUT_METHODS for n, _ in listened):
        assert settings["interactivity"]["is_enabled"] is True
    # Everything goes to the one route `jerry serve` answers (unless Socket Mode is on).
    if not settings.get("socket_mode_enabled"):
        urls = [c.get("url") for c in features.get("slash_commands", [])]
        urls.append(settings.get("event_subscriptions", {}).get("request_url"))
        urls.append(settings["interactivity"].get("request_url"))
        for url in urls:
            assert url and httpx.URL(url).path == "/slack/events", urls


@pytest.fixture
async def driver(
    sqlite_template: Path, tmp_path: Path, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    """The real app on SQLite (what the manifest says does not depend on the database)."""
    path = tmp_path / "jerry.db"
    shutil.copyfile(sqlite_template, path)
    jerry: JerryApp = create_app(_settings(f"sqlite+aiosqlite:///{path}", fake_slack.api_url))
    await jerry.start()
    slack = SlackDriver(jerry, fake_slack)
    try:
        yield slack
        await slack.settle()
    finally:
        await slack.close()
        await jerry.stop()
    assert not fake_slack.violations, fake_slack.violations


# Message events in channels, private channels and group DMs: the conversation in item threads.
CONVERSATION_EVENTS = {
    "message.channels": ("C0GENERAL", "channel"),
    "message.groups": ("G0PRIVATE", "group"),
    "message.mpim": ("G0GROUPDM", "mpim"),
}


# Commands whose text prefills a form (product updates) rather than creating an item.
FORM_COMMANDS = {"/shipped", "/upcoming"}
# Commands that answer (here: /jerry's help) and store nothing.
ANSWER_COMMANDS = {"/jerry"}


REACTED: list[str] = []  # the messages reacted to: reaction_removed is about the latest


async def send_event(slack: SlackDriver, event: str) -> httpx.Response:
    """A declared bot event, as Slack sends it (from Slack's own sample payloads)."""
    if event == "app_mention":
        response, _ = await slack.mention("<@U0JERRYBOT> the invoice is wrong")
        return response
    if event == "message.im":
        return await slack.dm("the invoice is wrong")
    if event == "app_home_opened":
        return await slack.event(payloads.app_home_opened(user="U0REPORTER"))
    if event in CONVERSATION_EVENTS:
        # A reply by the reporter in the thread of their item (a mention there): relayed.
        channel, channel_type = CONVERSATION_EVENTS[event]
        _, mention = await slack.mention("<@U0JERRYBOT> the refund is wrong", channel=channel)
        ts = mention["event"]["ts"]
        reply = payloads.thread_message(
            "it is order 42",
            user="U0REPORTER",
            channel=channel,
            thread_ts=ts,
            channel_type=channel_type,
        )
        return await slack.event(reply)
    if event in ("reaction_added", "reaction_removed"):
        # :ticket: on a colleague's message files it; taken back at once, it is undone.
        if event == "reaction_added":
            message = slack.fake.add_message("C0GENERAL", "U0STRANGER", "the export is slow")
            REACTED.append(message["ts"])
        body = payloads.reaction(
            event,
            user="U0REPORTER",
            reaction="ticket",
            channel="C0GENERAL",
            ts=REACTED[-1],
            author="U0STRANGER",
        )
        response = await slack.event(body)
        await slack.settle()
        return response
    if event == "user_change":
        # Someone who leads nothing left: recorded as gone, no item moves.
        return await slack.event(payloads.user_change("U0STRANGER", deleted=True))
    raise AssertionError(f"no sample payload for the event {event}: add one to this test")


async def test_every_declared_command_shortcut_and_event_is_handled(
    manifest: dict[str, Any], driver: SlackDriver, fake_slack: FakeSlack
) -> None:
    features, settings = manifest["features"], manifest["settings"]
    # What an undeclared one gets, so that "handled" below means something.
    assert (await driver.command("/not-jerry", "hello")).status_code == 404

    for entry in features.get("slash_commands", []):
        response = await driver.command(entry["command"], "the invoice is wrong")
        assert response.status_code == 200, (entry["command"], response.text)
        if entry["command"] in FORM_COMMANDS:
            assert not response.content, response.text  # a plain ack: the form opens
            continue
        assert response.json().get("response_type") == "ephemeral", response.text

    for entry in features.get("shortcuts", []):
        message = fake_slack.add_message("C0GENERAL", "U0STRANGER", "the invoice is wrong")
        body = payloads.message_shortcut(
            user="U0REPORTER",
            channel="C0GENERAL",
            message=message,
            callback_id=entry["callback_id"],
            response_url=fake_slack.response_url(),
        )
        if entry["type"] == "global":
            body = {
                key: body[key] for key in ("token", "team", "user", "callback_id", "trigger_id")
            }
            body["type"] = "shortcut"
        response = await driver.interactive(body)
        assert response.status_code == 200, (entry["callback_id"], response.text)

    for event in settings.get("event_subscriptions", {}).get("bot_events", []):
        response = await send_event(driver, event)
        assert response.status_code == 200, (event, response.text)
    await driver.settle()
    # Each was really processed: the commands and events became items, the shortcut a form.
    commands = features.get("slash_commands", [])
    events = settings.get("event_subscriptions", {}).get("bot_events", [])
    homes = [event for event in events if event == "app_home_opened"]  # no item: a Home
    departures = [event for event in events if event == "user_change"]  # no item: a departure
    removals = [event for event in events if event == "reaction_removed"]  # undoes one
    forms = [c for c in commands if c["command"] in FORM_COMMANDS]  # a form, no item
    answers = [c for c in commands if c["command"] in ANSWER_COMMANDS]  # no item either
    expected_items = len(commands) - len(forms) - len(answers) + len(events)
    expected_items -= len(homes) + len(departures) + len(removals)
    assert await count_rows(driver.app.engine, "items") == expected_items
    async with driver.app.sessions() as session:
        stranger = await session.get(SlackUser, "U0STRANGER")
    assert bool(departures) == bool(stranger is not None and stranger.deleted)
    assert len(fake_slack.calls_to("views.publish", ok=True)) == len(homes)
    relayed = [event for event in events if event in CONVERSATION_EVENTS]
    assert await count_rows(driver.app.engine, "relayed_messages") == len(relayed)
    opened = len(features.get("shortcuts", [])) + len(forms)
    assert len(fake_slack.calls_to("views.open", ok=True)) == opened
    # /shipped and /upcoming with text open their form with that text as the title.
    titles = [
        call.response["view"]["blocks"][0]["element"].get("initial_value")
        for call in fake_slack.calls_to("views.open", ok=True)
        if call.response["view"].get("callback_id") == "jerry_update"
    ]
    assert titles == ["the invoice is wrong"] * len(forms)


# --- 3. scopes ---------------------------------------------------------------------------------

# Web API method → the bot scopes that allow it (any one of them); () when none is needed.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "api.test": (),
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "usergroups.users.list": ("usergroups:read",),
    "reactions.add": ("reactions:write",),
    "team.info": ("team:read",),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "views.publish": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.upload.v2": ("files:write",),  # slack_sdk: the two calls above
}
# Bot events → the scope Slack requires to deliver them.
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.mpim": "mpim:history",
    "app_home_opened": "",
    "user_change": "users:read",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "member_joined_channel": "channels:read",
}
# Slack grants these only together with the second one.
SCOPE_NEEDS = {"users:read.email": "users:read"}
# Bolt's listener arguments that call the Web API on the listener's behalf.
BOLT_UTILITIES = {"say": "chat.postMessage", "respond": None}  # respond: the response_url

CLIENT_CALL = re.compile(r"\bclient\.(?P<method>[a-z]+(?:_[A-Za-z0-9]+)+)\s*\(")
API_CALL = re.compile(r"\.api_call\(\s*[\"'](?P<method>[\w.]+)[\"']")
UTILITY_CALL = re.compile(r"\bawait\s+(?P<utility>say|respond)\s*\(")


def called_methods() -> dict[str, list[str]]:
    """Web API method → where the code calls it (file:line)."""
    found: dict[str, list[str]] = {}
    for directory in SOURCE_DIRS:
        for path in sorted((REPO / directory).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                where = f"{path.relative_to(REPO)}:{number}"
                methods = [m["method"].replace("_", ".") for m in CLIENT_CALL.finditer(line)]
                methods += [m["method"] for m in API_CALL.finditer(line)]
                methods += [
                    method
                    for m in UTILITY_CALL.finditer(line)
                    if (method := BOLT_UTILITIES[m["utility"]])
                ]
                for method in methods:
                    found.setdefault(method, []).append(where)
    return found


def test_bot_scopes_cover_the_code_and_nothing_more(manifest: dict[str, Any]) -> None:
    declared = set(manifest["oauth_config"]["scopes"].get("bot", []))
    calls = called_methods()
    # The grep works: it finds the calls everyone knows the code makes.
    assert {"chat.postMessage", "users.info", "views.open"} <= set(calls), calls

    unknown = {method: calls[method] for method in calls if method not in METHOD_SCOPES}
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    missing = {
        method: (METHOD_SCOPES[method], calls[method])
        for method in calls
        if METHOD_SCOPES[method] and not declared & set(METHOD_SCOPES[method])
    }
    assert not missing, f"the manifest lacks a scope for these calls: {missing}"

    used = {scope for method in calls for scope in METHOD_SCOPES[method] if scope in declared}
    events = manifest["settings"].get("event_subscriptions", {}).get("bot_events", [])
    for event in events:
        assert event in EVENT_SCOPES, f"add the event {event} and its scope to EVENT_SCOPES"
        if EVENT_SCOPES[event]:
            assert EVENT_SCOPES[event] in declared, f"{event} needs {EVENT_SCOPES[event]}"
            used.add(EVENT_SCOPES[event])
    if manifest["features"].get("slash_commands") or manifest["features"].get("shortcuts"):
        assert "commands" in declared, "slash commands and shortcuts need the commands scope"
        used.add("commands")
    for scope, needed in SCOPE_NEEDS.items():
        if scope in used:
            assert needed in declared, f"{scope} is granted only with {needed}"
            used.add(needed)
    assert declared - used == set(), "declared scopes that nothing uses"


def test_manifest_declares_the_conversation_events_and_their_scopes(
    manifest: dict[str, Any],
) -> None:
    """Replies in item threads reach Jerry wherever the thread is: channel, private, DMs."""
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in ("message.channels", "message.groups", "message.im", "message.mpim"):
        assert event in events
        assert EVENT_SCOPES[event] in scopes


def test_the_docker_image_installs_the_manifest_so_doctor_can_compare_scopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`jerry doctor` reads the scopes from manifest.yml: in the image, the copy installed
    inside the bot package (no source checkout there)."""
    import tomllib

    from bot import doctor

    root = Path(__file__).resolve().parents[1]
    assert "COPY manifest.yml ./bot/manifest.yml" in (root / "Dockerfile").read_text()
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "manifest.yml" in project["tool"]["setuptools"]["package-data"]["bot"]
    packaged = tmp_path / "bot" / "manifest.yml"
    packaged.parent.mkdir()
    packaged.write_text((root / "manifest.yml").read_text(), encoding="utf-8")
    monkeypatch.setattr(doctor, "MANIFEST", tmp_path / "manifest.yml")  # no checkout
    monkeypatch.setattr(doctor, "PACKAGED_MANIFEST", packaged)
    scopes = doctor.manifest_scopes()
    assert scopes is not None and "chat:write" in scopes
