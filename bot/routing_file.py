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
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture]
rules:                # optional, checked in order before keywords; first match wins
  - name: support crashes go to Mobile
    when: {channel: C0SUPPORT, pattern: "crash|freeze"}
    team: Mobile      # or area: iOS app
```

`parse` reports every problem it finds, each with its line, not only the first.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.routing import TRIAGE_TEAM_NAME, AreaSpec, RoutingModel, RuleSpec, TeamSpec, words
from bot.sla import SlaError, business_hours, format_days, parse_days, parse_target

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_LIMIT = 200  # the database's column sizes
USER_ID_LIMIT = 64
EMAIL_LIMIT = 320
PATTERN_LIMIT = 1000

_NULL_TAG = "tag:yaml.org,2002:null"
SERVICE_LEVEL_KEYS = ("ack_target", "answer_target", "business_hours")
SERVICE_LEVEL_FIELDS = (
    "ack_target",
    "answer_target",
    "business_days",
    "business_start",
    "business_end",
)


@dataclass(frozen=True)
class FileProblem:
    line: int  # 1-based; 0 when no line applies (e.g. an email Slack does not know)
    field: str  # e.g. "teams[1].areas[0].keywords"; "" for the file as a whole
    message: str


class RoutingFileError(ValueError):
    """The routing file has problems; `errors` lists them all, in line order."""

    def __init__(self, errors: list[FileProblem], source: str = "routing file") -> None:
        self.errors = sorted(errors, key=lambda problem: problem.line)
        self.source = source
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(self._line(problem) for problem in self.errors)

    def _line(self, problem: FileProblem) -> str:
        where = f"{self.source}:{problem.line}" if problem.line else self.source
        if problem.field:
            return f"{where}: {problem.field}: {problem.message}"
        return f"{where}: {problem.message}"


def is_email(value: str) -> bool:
    return EMAIL.match(value) is not None


# --- reading ----------------------------------------------------------------------------------


def parse(text: str, source: str = "routing file") -> RoutingModel:
    """Check a routing file and build its model; raise `RoutingFileError` listing every problem.

    Leads and backups given by email stay emails here (`lead` and `lead_email` both hold it):
    `resolve_emails` turns them into Slack user ids.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        error = FileProblem(line, "", f"not valid YAML: {problem}")
        raise RoutingFileError([error], source) from exc
    except yaml.YAMLError as exc:
        raise RoutingFileError([FileProblem(0, "", f"not valid YAML: {exc}")], source) from exc
    if root is None:
        raise RoutingFileError(
            [FileProblem(1, "", "the file is empty: it needs at least a `triage:` with a `lead`")],
            source,
        )
    checker = _Checker()
    model = checker.model(root)
    if checker.problems or model is None:
        raise RoutingFileError(checker.problems, source)
    return model


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Checker:
    def __init__(self) -> None:
        self.problems: list[FileProblem] = []
        self.team_names: dict[str, tuple[int, str]] = {}  # casefolded → (line, name)
        self.area_names: dict[str, tuple[int, str, str]] = {}  # casefolded → (line, team, name)

    def problem(self, node: Node, field: str, message: str) -> None:
        self.problems.append(FileProblem(_line(node), field, message))

    # generic shapes

    def mapping(
        self,
        node: Node,
        field: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, field or "(top level)", "must be a mapping of `key: value` lines")
            return None
        values: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, field or "(top level)", "keys must be plain words")
                continue
            key = key_node.value
            path = f"{field}.{key}" if field else key
            if key not in allowed:
                self.problem(key_node, path, f"unknown key; expected {_one_of(allowed)}")
            elif key in values:
                self.problem(key_node, path, f"appears twice (first on line {_line(values[key])})")
            else:
                values[key] = value_node
        for key in required:
            if key not in values:
                self.problem(node, f"{field}.{key}" if field else key, "is required")
        return values

    def sequence(self, node: Node | None, field: str, what: str) -> list[Node]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.problem(node, field, f"must be a list of {what}")
            return []
        return list(node.value)

    def text(self, node: Node | None, field: str, *, limit: int = NAME_LIMIT) -> str | None:
        """A non-empty string (YAML scalars of any type are read as the text written)."""
        if node is None:
            return None
        if not isinstance(node, ScalarNode):
            self.problem(node, field, "must be text, not a list or a mapping")
            return None
        # `name: null` means the word; only an empty value or `~` is nothing.
        value = "" if node.tag == _NULL_TAG and node.value in {"", "~"} else node.value.strip()
        if not value:
            self.problem(node, field, "must not be empty")
            return None
        if len(value) > limit:
            self.problem(node, field, f"is too long (at most {limit} characters)")
            return None
        return value

    def user(self, node: Node | None, field: str) -> str | None:
        value = self.text(node, field, limit=EMAIL_LIMIT)
        if value is None or node is None:
            return None
        if USER_ID.match(value):
            if len(value) > USER_ID_LIMIT:
                self.problem(node, field, "is too long for a Slack user id")
                return None
            return value
        if is_email(value):
            return value
        self.problem(node, field, "must be a Slack user id (like U012AB3CDE) or an email")
        return None

    def channel(self, node: Node | None, field: str) -> str | None:
        value = self.text(node, field)
        if value is None or node is None:
            return None
        if CHANNEL_ID.match(value):
            if len(value) > USER_ID_LIMIT:
                self.problem(node, field, "is too long for a Slack channel id")
                return None
            return value
        hint = " (the id is at the bottom of the channel's details in Slack)"
        self.problem(
            node,
            field,
            "must be a Slack channel id (like C012AB3CDE), not a channel name" + hint
            if value.startswith("#") or not value[:1].isupper()
            else "must be a Slack channel id (like C012AB3CDE)" + hint,
        )
        return None

    # the sections

    def model(self, root: Node) -> RoutingModel | None:
        top = self.mapping(root, "", ("triage", "teams", "rules"), required=("triage",))
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
        if triage is None or any(t is None for t in teams) or any(r is None for r in rules):
            return None
        return RoutingModel(
            triage=triage,
            teams=tuple(t for t in teams if t is not None),
            rules=tuple(r for r in rules if r is not None),
        )

    def triage(self, node: Node) -> TeamSpec | None:
        values = self.mapping(node, "triage", ("lead", "channel"), required=("lead",))
        if values is None:
            return None
        _drop_nulls(values, ("channel",))
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
            ("name", "lead", "backup", "channel", "areas", *SERVICE_LEVEL_KEYS),
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
                self.team_names[key] = (_line(name_node), name)
        _drop_nulls(values, ("backup", "channel", *SERVICE_LEVEL_KEYS))
        levels = self.service_levels(values, field)
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
        ):
            return None
        return TeamSpec(
            **levels,
            name=name,
            lead=lead,
            backup=backup,
            channel=channel,
            areas=tuple(a for a in areas if a is not None),
            lead_email=lead if is_email(lead) else None,
            backup_email=backup if backup and is_email(backup) else None,
        )

    def service_levels(self, values: dict[str, Node], field: str) -> dict[str, str | None] | None:
        """`ack_target`, `answer_target` and `business_hours` (bot/sla.py); None if wrong."""
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
        if days_node is not None and not _is_null(days_node):
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
                self.area_names[key] = (_line(values["name"]), team, name)
        keywords: list[str] = []
        keyword_nodes = values.get("keywords")
        if keyword_nodes is not None and not _is_null(keyword_nodes):
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
                if pattern is not None:
                    try:
                        re.compile(pattern, re.IGNORECASE)
                    except re.error as exc:
                        self.problem(
                            when["pattern"],
                            f"{field}.when.pattern",
                            f"is not a valid regular expression: {exc}",
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


def _drop_nulls(values: dict[str, Node], optional: tuple[str, ...]) -> None:
    """An optional field set to nothing (`backup:` or `backup: null`) is not given."""
    for key in optional:
        if key in values and _is_null(values[key]):
            del values[key]


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _one_of(allowed: tuple[str, ...]) -> str:
    names = [f"`{key}`" for key in allowed]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


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


# --- writing ----------------------------------------------------------------------------------


class _FlowList(list[Any]):
    pass


class _FlowMap(dict[str, Any]):
    pass


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent block lists under their key (`teams:\n  - name: …`), as people write them.
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    _FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)
_Dumper.add_representer(
    _FlowMap,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", list(data.items()), flow_style=True
    ),
)


def _service_levels(spec: TeamSpec) -> dict[str, Any]:
    """The service levels a team sets, as the file writes them (defaults left out)."""
    written: dict[str, Any] = {}
    if spec.ack_target:
        written["ack_target"] = spec.ack_target
    if spec.answer_target:
        written["answer_target"] = spec.answer_target
    hours = _FlowMap()
    if spec.business_days:
        hours["days"] = _FlowList(spec.business_days.split(","))
    if spec.business_start:
        hours["start"] = spec.business_start
    if spec.business_end:
        hours["end"] = spec.business_end
    if hours:
        written["business_hours"] = hours
    return written


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
        if spec.areas:
            team["areas"] = [
                {"name": area.name, "keywords": _FlowList(area.keywords)} for area in spec.areas
            ]
        teams.append(team)
    data: dict[str, Any] = {"triage": triage, "teams": teams}
    if model.rules:
        rules = []
        for rule in model.rules:
            when = _FlowMap()
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
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=96,
    )
    # A blank line before each top-level section reads better.
    text = re.sub(r"\n(?=(teams|rules):)", "\n\n", text)
    return _HEADER + text
