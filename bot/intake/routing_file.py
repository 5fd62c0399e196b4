"""The routing file (YAML): read and check it, resolve leads given by email, write it back.

```yaml
triage:               # who gets what nothing else routes
  lead: U0PRODOPS     # a Slack user id or an email (resolved with users.lookupByEmail)
  channel: C0PRODOPS  # optional: where alerts go
teams:
  - name: Payments
    lead: U0PAYLEAD
    backup: U0PAYBACK # optional
    channel: C0PAYTEAM # optional
    ack_target: 4h     # optional, business time (d, h, m); default 1d
    answer_target: 1d  # optional: questions acknowledged but not answered; default 1d
    business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
    jira: PAY          # optional: the team's Jira project key (or `linear: PAY`, a Linear
    issue_type: Bug    #   team key); the issue type "Create issue" proposes first (Jira)
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture]
rules:                # optional, checked in order before keywords; first match wins
  - name: support crashes go to Mobile
    when: {channel: C0SUPPORT, pattern: "crash|freeze"}
    team: Mobile      # or area: iOS app
insights:             # optional: what the insights count as time saved (minutes each)
  minutes_saved: {answer_reused: 30, duplicate_absorbed: 20, routed_directly: 15}
capture:              # optional: reactions that file the message they are on (default: ticket)
  emoji:
    - ticket
    - {name: question, kind: question}
    - {name: bug, kind: painpoint, area: Billing}
```

`parse` reports every problem it finds, each with its line, not only the first.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config_file import (
    Checker,
    ConfigFileError,
    FileProblem,
    FlowList,
    FlowMap,
    compose_yaml,
    drop_nulls,
    dump_yaml,
    is_email,
    is_null,
    line_of,
)
from bot.i18n import t
from bot.insights.domain import SAVING_KINDS
from bot.intake.routing import (
    AreaSpec,
    EmojiSpec,
    RoutingModel,
    RuleSpec,
    TeamSpec,
    pattern_problem,
    words,
)
from bot.items.domain import TRIAGE_TEAM_NAME
from bot.sla.business_time import SlaError, business_hours, format_days, parse_days, parse_target

PATTERN_LIMIT = 1000
MAX_MINUTES_SAVED = 1440  # a day of work for one occurrence is already generous
SERVICE_LEVEL_KEYS = ("ack_target", "answer_target", "business_hours")
TRACKER_KEYS = ("jira", "linear", "issue_type")
EMOJI_NAME = re.compile(r"[a-z0-9_+'\-]{1,100}")
PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,29}")
SERVICE_LEVEL_FIELDS = (
    "ack_target",
    "answer_target",
    "business_days",
    "business_start",
    "business_end",
)


class RoutingFileError(ConfigFileError):
    """The routing file has problems; `errors` lists them all, in line order."""

    def __init__(self, errors: list[FileProblem], source: str = "routing file") -> None:
        super().__init__(errors, source)


# --- reading ----------------------------------------------------------------------------------


def parse(text: str, source: str = "routing file") -> RoutingModel:
    """Check a routing file and build its model; raise `RoutingFileError` listing every problem.

    Leads and backups given by email stay emails here (`lead` and `lead_email` both hold it):
    `resolve_emails` turns them into Slack user ids.
    """
    root = compose_yaml(text, source, RoutingFileError)
    if root is None:
        raise RoutingFileError(
            [FileProblem(1, "", "the file is empty: it needs at least a `triage:` with a `lead`")],
            source,
        )
    checker = _RoutingChecker()
    model = checker.model(root)
    if checker.problems or model is None:
        raise RoutingFileError(checker.problems, source)
    return model


class _RoutingChecker(Checker):
    def __init__(self) -> None:
        super().__init__()
        self.team_names: dict[str, tuple[int, str]] = {}  # casefolded → (line, name)
        self.area_names: dict[str, tuple[int, str, str]] = {}  # casefolded → (line, team, name)

    def model(self, root: Node) -> RoutingModel | None:
        top = self.mapping(
            root, "", ("triage", "teams", "rules", "insights", "capture"), required=("triage",)
        )
        if top is None:
            return None
        triage = self.triage(top["triage"]) if "triage" in top else None
        teams = [
            self.team(node, f"teams[{index}]")
            for index, node in enumerate(self.sequence(top.get("teams"), "teams", "teams"))
        ]
        rules = [
            self.rule(node, f"rules[{index}]")
            for index, node in enumerate(self.sequence(top.get("rules"), "rules", "rules"))
        ]
        minutes: tuple[tuple[str, int], ...] | None = None
        insights_ok = True
        if top.get("insights") is not None and not is_null(top["insights"]):
            minutes = self.insights(top["insights"])
            insights_ok = minutes is not None
        if triage is None or any(t is None for t in teams) or any(r is None for r in rules):
            return None
        if not insights_ok:
            return None
        emoji: tuple[EmojiSpec, ...] | None = None
        if top.get("capture") is not None and not is_null(top["capture"]):
            emoji = self.capture(top["capture"])
            if emoji is None:
                return None
        return RoutingModel(
            triage=triage,
            teams=tuple(t for t in teams if t is not None),
            rules=tuple(r for r in rules if r is not None),
            minutes_saved=minutes,
            capture_emoji=emoji,
        )

    def capture(self, node: Node) -> tuple[EmojiSpec, ...] | None:
        """`capture: emoji:`: names, or {name, kind, area}; None if wrong."""
        values = self.mapping(node, "capture", ("emoji",))
        if values is None:
            return None
        found: list[EmojiSpec] = []
        seen: set[str] = set()
        ok = True
        for index, entry in enumerate(self.sequence(values.get("emoji"), "capture.emoji", "emoji")):
            field = f"capture.emoji[{index}]"
            name_node: Node = entry
            if isinstance(entry, ScalarNode):
                name, kind, area = entry.value, None, None
            else:
                spec = self.mapping(entry, field, ("name", "kind", "area"), required=("name",))
                if spec is None:
                    ok = False
                    continue
                drop_nulls(spec, ("kind", "area"))
                name_node = spec["name"]
                name = self.text(spec["name"], f"{field}.name", limit=100) or ""
                kind = self.text(spec["kind"], f"{field}.kind") if "kind" in spec else None
                area = self.text(spec["area"], f"{field}.area") if "area" in spec else None
                if kind is not None and kind not in ("painpoint", "question"):
                    self.problem(spec["kind"], f"{field}.kind", "must be painpoint or question")
                    ok = False
                if area is not None and area.casefold() not in self.area_names:
                    self.problem(spec["area"], f"{field}.area", f"no area is named “{area}”")
                    ok = False
            name = name.strip().strip(":")
            if not EMOJI_NAME.fullmatch(name):
                self.problem(
                    name_node,
                    f"{field}.name" if not isinstance(entry, ScalarNode) else field,
                    "an emoji's name, without colons, like ticket",
                )
                ok = False
                continue
            if name in seen:
                self.problem(name_node, field, f"“{name}” is listed twice")
                ok = False
                continue
            seen.add(name)
            found.append(EmojiSpec(name=name, kind=kind, area=area))
        if ok and not found:
            self.problem(node, "capture.emoji", "name at least one emoji, like [ticket]")
            ok = False
        return tuple(found) if ok else None

    def insights(self, node: Node) -> tuple[tuple[str, int], ...] | None:
        values = self.mapping(node, "insights", ("minutes_saved",))
        if values is None:
            return None
        section = values.get("minutes_saved")
        if section is None or is_null(section):
            return ()
        minutes = self.mapping(section, "insights.minutes_saved", SAVING_KINDS)
        if minutes is None:
            return None
        found: list[tuple[str, int]] = []
        ok = True
        for kind in SAVING_KINDS:
            if kind not in minutes or is_null(minutes[kind]):
                continue
            text = self.text(minutes[kind], f"insights.minutes_saved.{kind}", limit=8)
            if text is None or not text.isdigit() or not 0 <= int(text) <= MAX_MINUTES_SAVED:
                if text is not None:
                    self.problem(
                        minutes[kind],
                        f"insights.minutes_saved.{kind}",
                        f"must be a whole number of minutes, 0 to {MAX_MINUTES_SAVED}",
                    )
                ok = False
                continue
            found.append((kind, int(text)))
        return tuple(found) if ok else None

    def triage(self, node: Node) -> TeamSpec | None:
        values = self.mapping(node, "triage", ("lead", "channel"), required=("lead",))
        if values is None:
            return None
        drop_nulls(values, ("channel",))
        lead = self.user(values.get("lead"), "triage.lead")
        channel = self.channel(values.get("channel"), "triage.channel")
        if lead is None or ("channel" in values and channel is None):
            return None
        return TeamSpec(
            name=TRIAGE_TEAM_NAME,
            lead=lead,
            channel=channel,
            lead_email=lead if is_email(lead) else None,
            is_triage=True,
        )

    def team(self, node: Node, field: str) -> TeamSpec | None:
        values = self.mapping(
            node,
            field,
            ("name", "lead", "backup", "channel", "areas", *SERVICE_LEVEL_KEYS, *TRACKER_KEYS),
            required=("name", "lead"),
        )
        if values is None:
            return None
        ok = True
        name = self.text(values.get("name"), f"{field}.name")
        if name is not None:
            name_node = values["name"]
            key = name.casefold()
            if key == TRIAGE_TEAM_NAME.casefold():
                self.problem(
                    name_node,
                    f"{field}.name",
                    f"“{TRIAGE_TEAM_NAME}” is reserved for product ops (the `triage:` section)",
                )
                ok = False
            elif key in self.team_names:
                self.problem(
                    name_node,
                    f"{field}.name",
                    f"another team is already named “{name}” (line {self.team_names[key][0]})",
                )
                ok = False
            else:
                self.team_names[key] = (line_of(name_node), name)
        drop_nulls(values, ("backup", "channel", *SERVICE_LEVEL_KEYS, *TRACKER_KEYS))
        levels = self.service_levels(values, field)
        tracker = self.tracker(values, field)
        lead = self.user(values.get("lead"), f"{field}.lead")
        backup = self.user(values.get("backup"), f"{field}.backup")
        channel = self.channel(values.get("channel"), f"{field}.channel")
        areas = [
            self.area(area_node, f"{field}.areas[{index}]", name or "")
            for index, area_node in enumerate(
                self.sequence(values.get("areas"), f"{field}.areas", "areas")
            )
        ]
        if (
            not ok
            or name is None
            or lead is None
            or ("backup" in values and backup is None)
            or ("channel" in values and channel is None)
            or any(a is None for a in areas)
            or levels is None
            or tracker is None
        ):
            return None
        return TeamSpec(
            name=name,
            lead=lead,
            backup=backup,
            channel=channel,
            areas=tuple(a for a in areas if a is not None),
            lead_email=lead if is_email(lead) else None,
            backup_email=backup if backup and is_email(backup) else None,
            ack_target=levels["ack_target"],
            answer_target=levels["answer_target"],
            business_days=levels["business_days"],
            business_start=levels["business_start"],
            business_end=levels["business_end"],
            jira_project=tracker.get("jira"),
            linear_team=tracker.get("linear"),
            issue_type=tracker.get("issue_type"),
        )

    def tracker(self, values: dict[str, Node], field: str) -> dict[str, str] | None:
        """`jira` (a project key) or `linear` (a team key), and `issue_type`; None if wrong."""
        found: dict[str, str] = {}
        ok = True
        for key in TRACKER_KEYS:
            node = values.get(key)
            if node is None:
                continue
            text = self.text(node, f"{field}.{key}", limit=60)
            if text is None:
                ok = False
            elif key != "issue_type" and not PROJECT_KEY.fullmatch(text):
                self.problem(
                    node,
                    f"{field}.{key}",
                    f"“{text}” is not a {'project' if key == 'jira' else 'team'} key: "
                    "capital letters and digits, starting with a letter, like PAY",
                )
                ok = False
            else:
                found[key] = text
        if "jira" in found and "linear" in found:
            self.problem(
                values["linear"],
                f"{field}.linear",
                "a team's work is tracked in Jira or in Linear, not both: keep one of the two",
            )
            ok = False
        if "issue_type" in found and "jira" not in found:
            self.problem(
                values["issue_type"],
                f"{field}.issue_type",
                "only a team tracked in Jira has issue types: add `jira: KEY`, or remove it",
            )
            ok = False
        return found if ok else None

    def service_levels(self, values: dict[str, Node], field: str) -> dict[str, str | None] | None:
        """`ack_target`, `answer_target` and `business_hours` (bot/sla/business_time.py);
        None if wrong."""
        found: dict[str, str | None] = dict.fromkeys(SERVICE_LEVEL_FIELDS)
        ok = True
        for key in ("ack_target", "answer_target"):
            node = values.get(key)
            text = self.text(node, f"{field}.{key}", limit=16) if node is not None else None
            if node is None:
                continue
            try:
                parse_target(text if text is not None else "")
            except SlaError as exc:
                if text is not None:
                    self.problem(node, f"{field}.{key}", str(exc))
                ok = False
                continue
            found[key] = text.lower() if text else None
        node = values.get("business_hours")
        if node is None:
            return found if ok else None
        path = f"{field}.business_hours"
        hours = self.mapping(node, path, ("days", "start", "end"))
        if hours is None:
            return None
        days_node = hours.get("days")
        days: Any = None
        if days_node is not None and not is_null(days_node):
            if isinstance(days_node, SequenceNode) and all(
                isinstance(day, ScalarNode) for day in days_node.value
            ):
                days = [day.value for day in days_node.value]
            elif isinstance(days_node, ScalarNode):
                days = days_node.value
            else:
                self.problem(days_node, f"{path}.days", "must be a list of days, like [mon, tue]")
                return None
        clocks = {key: self.text(hours.get(key), f"{path}.{key}") for key in ("start", "end")}
        if any(hours.get(key) is not None and clocks[key] is None for key in ("start", "end")):
            return None
        try:
            parsed = business_hours(days, clocks["start"], clocks["end"])
        except SlaError as exc:
            self.problem(node, path, str(exc))
            return None
        if not ok:
            return None
        if days is not None:
            found["business_days"] = format_days(parse_days(days))
        if clocks["start"] is not None:
            found["business_start"] = parsed.start.strftime("%H:%M")
        if clocks["end"] is not None:
            found["business_end"] = parsed.end.strftime("%H:%M")
        return found

    def area(self, node: Node, field: str, team: str) -> AreaSpec | None:
        values = self.mapping(node, field, ("name", "keywords"), required=("name",))
        if values is None:
            return None
        ok = True
        name = self.text(values.get("name"), f"{field}.name")
        if name is not None:
            key = name.casefold()
            if key in self.area_names:
                line, other, _ = self.area_names[key]
                self.problem(
                    values["name"],
                    f"{field}.name",
                    f"an area named “{name}” already exists (line {line}, team {other}); "
                    "area names must be unique in the file",
                )
                ok = False
            else:
                self.area_names[key] = (line_of(values["name"]), team, name)
        keywords: list[str] = []
        keyword_nodes = values.get("keywords")
        if keyword_nodes is not None and not is_null(keyword_nodes):
            if not isinstance(keyword_nodes, SequenceNode):
                self.problem(keyword_nodes, f"{field}.keywords", "must be a list of words")
                ok = False
            else:
                for index, keyword_node in enumerate(keyword_nodes.value):
                    path = f"{field}.keywords[{index}]"
                    keyword = self.text(keyword_node, path)
                    if keyword is None:
                        ok = False
                    elif not words(keyword):
                        self.problem(keyword_node, path, "must contain a letter or a digit")
                        ok = False
                    else:
                        keywords.append(keyword)
        if not ok or name is None:
            return None
        return AreaSpec(name=name, keywords=tuple(keywords), team=team)

    def rule(self, node: Node, field: str) -> RuleSpec | None:
        values = self.mapping(node, field, ("name", "when", "team", "area"), required=("name",))
        if values is None:
            return None
        ok = True
        name = self.text(values.get("name"), f"{field}.name")
        channel = pattern = None
        when_node = values.get("when")
        if when_node is None:
            self.problem(node, f"{field}.when", "is required (a `channel`, a `pattern` or both)")
            ok = False
        else:
            when = self.mapping(when_node, f"{field}.when", ("channel", "pattern"))
            if when is None:
                ok = False
            else:
                if not when:
                    self.problem(
                        when_node, f"{field}.when", "needs a `channel`, a `pattern` or both"
                    )
                    ok = False
                channel = self.channel(when.get("channel"), f"{field}.when.channel")
                pattern = self.text(
                    when.get("pattern"), f"{field}.when.pattern", limit=PATTERN_LIMIT
                )
                if pattern is not None and (reason := pattern_problem(pattern)) is not None:
                    # RE2's syntax (no backreferences, no lookarounds): see bot/intake/routing.py.
                    self.problem(
                        when["pattern"],
                        f"{field}.when.pattern",
                        f"is not a valid regular expression: {reason}",
                    )
                    ok = False
                if ("channel" in when and channel is None) or ("pattern" in when and not pattern):
                    ok = False
        team = self.text(values.get("team"), f"{field}.team")
        area = self.text(values.get("area"), f"{field}.area")
        if "team" in values and "area" in values:
            self.problem(node, field, "has both `team` and `area`: give only one")
            ok = False
        elif "team" not in values and "area" not in values:
            self.problem(node, field, "needs a `team` or an `area` to send items to")
            ok = False
        elif team is not None:
            # Refer to the team as it is named (the triage team is "Triage").
            if team.casefold() == TRIAGE_TEAM_NAME.casefold():
                team = TRIAGE_TEAM_NAME
            elif team.casefold() in self.team_names:
                team = self.team_names[team.casefold()][1]
            else:
                self.problem(values["team"], f"{field}.team", f"no team is named “{team}”")
                ok = False
        elif area is not None:
            if area.casefold() in self.area_names:
                area = self.area_names[area.casefold()][2]
            else:
                self.problem(values["area"], f"{field}.area", f"no area is named “{area}”")
                ok = False
        else:
            ok = False
        if not ok or name is None:
            return None
        return RuleSpec(name=name, team=team, area=area, channel=channel, pattern=pattern)


# --- emails -----------------------------------------------------------------------------------


async def resolve_emails(
    model: RoutingModel,
    lookup: Callable[[str], Awaitable[str | None]],
    source: str = "routing file",
) -> RoutingModel:
    """The model with every lead and backup given by email replaced by its Slack user id.

    `lead_email` / `backup_email` keep the email (so an export writes it back). An email
    Slack does not know (lookup returns None) is a problem; all of them are reported at once.
    """
    found: dict[str, str | None] = {}
    problems: list[FileProblem] = []

    async def user_id(value: str | None, email: str | None, field: str) -> str | None:
        if value is None or not email or not is_email(value):
            return value
        key = email.casefold()
        if key not in found:
            found[key] = await lookup(email)
        resolved = found[key]
        if resolved is None:
            problems.append(FileProblem(0, field, f"no Slack user has the email {email}"))
        return resolved or value

    async def team(spec: TeamSpec, field: str) -> TeamSpec:
        return replace(
            spec,
            lead=await user_id(spec.lead, spec.lead_email, f"{field}.lead") or spec.lead,
            backup=await user_id(spec.backup, spec.backup_email, f"{field}.backup"),
        )

    triage = await team(model.triage, "triage")
    teams = [await team(spec, f"teams[{index}]") for index, spec in enumerate(model.teams)]
    if problems:
        raise RoutingFileError(problems, source)
    return replace(model, triage=triage, teams=tuple(teams))


# --- people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedPerson:
    """A person the routing file names: who, in which role of which team, and where."""

    user_id: str  # after `resolve_emails`
    team: str
    role: str  # "lead" or "backup"
    field: str  # e.g. "teams[1].backup"
    line: int  # 0 when the file's text is not at hand


def people_named(model: RoutingModel, text: str | None = None) -> list[NamedPerson]:
    """Every lead and backup of `model` (triage's lead first), with the line `text` (the
    file `model` was parsed from) names them on."""
    lines = _person_lines(text) if text is not None else {}
    named = [NamedPerson(model.triage.lead, model.triage.name, "lead", "triage.lead", 0)]
    for index, spec in enumerate(model.teams):
        named.append(NamedPerson(spec.lead, spec.name, "lead", f"teams[{index}].lead", 0))
        if spec.backup:
            named.append(NamedPerson(spec.backup, spec.name, "backup", f"teams[{index}].backup", 0))
    return [replace(person, line=lines.get(person.field, 0)) for person in named]


def _person_lines(text: str) -> dict[str, int]:
    """Field ("triage.lead", "teams[0].backup" …) → line, in a file `parse` accepted."""
    root = compose_yaml(text, "routing file", RoutingFileError)
    lines: dict[str, int] = {}
    if not isinstance(root, MappingNode):
        return lines
    for key, value in root.value:
        if key.value == "triage" and isinstance(value, MappingNode):
            lines.update(_lines_of(value, "triage"))
        elif key.value == "teams" and isinstance(value, SequenceNode):
            for index, team in enumerate(value.value):
                if isinstance(team, MappingNode):
                    lines.update(_lines_of(team, f"teams[{index}]"))
    return lines


def _lines_of(node: MappingNode, field: str) -> dict[str, int]:
    return {
        f"{field}.{key.value}": line_of(value)
        for key, value in node.value
        if isinstance(key, ScalarNode) and key.value in ("lead", "backup")
    }


# --- writing ----------------------------------------------------------------------------------


def _service_levels(spec: TeamSpec) -> dict[str, Any]:
    """The service levels a team sets, as the file writes them (defaults left out)."""
    written: dict[str, Any] = {}
    if spec.ack_target:
        written["ack_target"] = spec.ack_target
    if spec.answer_target:
        written["answer_target"] = spec.answer_target
    hours = FlowMap()
    if spec.business_days:
        hours["days"] = FlowList(spec.business_days.split(","))
    if spec.business_start:
        hours["start"] = spec.business_start
    if spec.business_end:
        hours["end"] = spec.business_end
    if hours:
        written["business_hours"] = hours
    return written


# --- the example file (`jerry routing init`) --------------------------------------------------

# The example's shape; its comments and names come from the catalog (`routing.example.*`), so
# it reads in the admin's language. Every id is a placeholder to replace.
_EXAMPLE = """\
{header}

# {triage}
triage:
  lead: U0PRODOPS01
  channel: C0PRODOPS01

# {teams}
teams:
  - name: {team1}
    lead: U0LEAD00001
    # {backup}
    backup: U0BACKUP001
    # {targets}
    ack_target: 4h
    answer_target: 1d
    # {hours}
    business_hours: {{days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}}
    # {areas}
    areas:
      - name: {area1}
        keywords: [{keywords1}]
      - name: {area2}
        keywords: [{keywords2}]

  - name: {team2}
    lead: U0LEAD00002
    areas:
      - name: {area3}
        keywords: [{keywords3}]
      - name: {area4}
        keywords: [{keywords4}]

# {rules}
rules:
  - name: {rule}
    when: {{channel: C0SUPPORT01, pattern: "crash|freeze"}}
    team: {team2}
"""
_EXAMPLE_COMMENTS = ("triage", "teams", "backup", "targets", "hours", "areas", "rules")
_EXAMPLE_NAMES = (
    *("team1", "team2", "area1", "area2", "area3", "area4"),
    *("keywords1", "keywords2", "keywords3", "keywords4", "rule"),
)


def example_file(lang: str = "en") -> str:
    """A commented example routing file to edit (`jerry routing init`), in `lang`."""
    header = "\n".join(
        f"# {line}".rstrip() for line in t("routing.example.header", lang).split("\n")
    )
    values = {key: t(f"routing.example.{key}", lang) for key in _EXAMPLE_COMMENTS}
    values.update({key: t(f"routing.example.{key}", lang) for key in _EXAMPLE_NAMES})
    return _EXAMPLE.format(header=header, **values)


_HEADER = "# Jerry's routing model. Change it, then: jerry routing import FILE\n"


def dump(model: RoutingModel) -> str:
    """The model in the routing file format (leads given by email are written as emails)."""
    triage: dict[str, Any] = {"lead": model.triage.lead_email or model.triage.lead}
    if model.triage.channel:
        triage["channel"] = model.triage.channel
    teams = []
    for spec in model.teams:
        team: dict[str, Any] = {"name": spec.name, "lead": spec.lead_email or spec.lead}
        if spec.backup:
            team["backup"] = spec.backup_email or spec.backup
        if spec.channel:
            team["channel"] = spec.channel
        team.update(_service_levels(spec))
        for key, value in (
            ("jira", spec.jira_project),
            ("linear", spec.linear_team),
            ("issue_type", spec.issue_type),
        ):
            if value:
                team[key] = value
        if spec.areas:
            team["areas"] = [
                {"name": area.name, "keywords": FlowList(area.keywords)} for area in spec.areas
            ]
        teams.append(team)
    data: dict[str, Any] = {"triage": triage, "teams": teams}
    if model.rules:
        rules = []
        for rule in model.rules:
            when = FlowMap()
            if rule.channel:
                when["channel"] = rule.channel
            if rule.pattern:
                when["pattern"] = rule.pattern
            entry: dict[str, Any] = {"name": rule.name, "when": when}
            if rule.area:
                entry["area"] = rule.area
            else:
                entry["team"] = rule.team
            rules.append(entry)
        data["rules"] = rules
    if model.minutes_saved:
        data["insights"] = {"minutes_saved": FlowMap(dict(model.minutes_saved))}
    if model.capture_emoji:
        data["capture"] = {
            "emoji": [
                emoji.name
                if emoji.kind is None and emoji.area is None
                else FlowMap(
                    {"name": emoji.name}
                    | ({"kind": emoji.kind} if emoji.kind else {})
                    | ({"area": emoji.area} if emoji.area else {})
                )
                for emoji in model.capture_emoji
            ]
        }
    return _HEADER + dump_yaml(data, sections=("teams", "rules", "insights", "capture"))
