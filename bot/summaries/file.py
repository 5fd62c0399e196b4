"""The summaries file (YAML): weekly summary subscriptions and product-update feeds.

```yaml
subscriptions:
  - name: sales-weekly
    channel: C0SALES
    areas: [Billing, Checkout]      # optional: every area when absent
    weekday: monday                 # or mon, or 0..6 (0 = Monday); default monday
    time: "09:00"                   # local time in `timezone`; default 09:00
    timezone: Europe/Paris          # an IANA name; default UTC
    language: fr                    # en | fr; default en
feeds:
  - name: web releases
    github: acme/web                # or rss: URL (RSS or Atom), or json: URL (JSON Feed)
    area: Checkout
report:                             # optional: the product-ops report (bot/insights/report.py)
  channel: C0PRODOPS
  dm: [U0CPO, cpo@example.com]      # optional: people who get it by DM too (ids or emails)
  timezone: Europe/Paris            # periods and times are read here; default UTC
  language: en                      # en | fr; default en
  monthly: {day: 1, time: "09:00"}  # the month just ended, on that day of the next one
  quarterly: {day: 2, time: "09:00"}  # the quarter just ended; either or both (default: both,
                                    # day 1 at 09:00)
```

It is checked like the routing file (with bot/config_file.py's checker): every problem is
reported with its line and field, not only the first. Area names must exist in
the routing model: `parse(text, areas=…)` checks them when given the model's area names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node, ScalarNode, SequenceNode

from bot.config_file import (
    Checker,
    ConfigFileError,
    FileProblem,
    FlowList,
    FlowMap,
    compose_yaml,
    drop_nulls,
    dump_yaml,
    is_null,
)
from bot.sla.business_time import DAY_NAMES, FULL_DAY_NAMES, SlaError, parse_clock

SOURCE = "summaries file"
LANGUAGES = ("en", "fr")
FEED_KINDS = ("github", "rss", "json")
URL_LIMIT = 2000
TIMEZONE_LIMIT = 64
# French day names too: the file is written by product ops, in either language.
FRENCH_DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
HTTP_URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$", re.IGNORECASE)
SUBSCRIPTION_KEYS = ("name", "channel", "areas", "weekday", "time", "timezone", "language")
REPORT_KEYS = ("channel", "dm", "timezone", "language", "monthly", "quarterly")
REPORT_CADENCES = ("monthly", "quarterly")
SCHEDULE_KEYS = ("day", "time")
DM_LIMIT = 50
FEED_KEYS = ("name", *FEED_KINDS, "area")


@dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    channel: str
    areas: tuple[str, ...] = ()  # empty: every area
    weekday: int = 0  # 0 = Monday
    time: str = "09:00"  # HH:MM, local time in `timezone`
    timezone: str = "UTC"
    language: str = "en"


@dataclass(frozen=True)
class FeedSpec:
    name: str
    kind: str  # github | rss | json
    url: str  # for github: "owner/name"
    area: str


@dataclass(frozen=True)
class ReportSchedule:
    day: int = 1  # day of the month (1..28) the report of the period just ended is posted
    time: str = "09:00"  # HH:MM, local time in the report's timezone


@dataclass(frozen=True)
class ReportSpec:
    """The product-ops report: where it goes, when, in which language and timezone."""

    channel: str
    dm: tuple[str, ...] = ()  # user ids or emails (resolved when the report is sent)
    timezone: str = "UTC"
    language: str = "en"
    monthly: ReportSchedule | None = ReportSchedule()
    quarterly: ReportSchedule | None = ReportSchedule()

    def as_setting(self) -> dict[str, Any]:
        """As stored in file_settings (bot/insights/file_settings.py, name REPORT)."""
        return {
            "channel": self.channel,
            "dm": list(self.dm),
            "timezone": self.timezone,
            "language": self.language,
            **{
                cadence: {"day": schedule.day, "time": schedule.time}
                for cadence in REPORT_CADENCES
                if (schedule := getattr(self, cadence)) is not None
            },
        }

    @classmethod
    def from_setting(cls, value: dict[str, Any]) -> ReportSpec:
        def schedule(raw: Any) -> ReportSchedule | None:
            if not isinstance(raw, dict):
                return None
            return ReportSchedule(int(raw.get("day", 1)), str(raw.get("time", "09:00")))

        return cls(
            channel=str(value.get("channel", "")),
            dm=tuple(str(each) for each in value.get("dm") or ()),
            timezone=str(value.get("timezone") or "UTC"),
            language=str(value.get("language") or "en"),
            monthly=schedule(value.get("monthly")),
            quarterly=schedule(value.get("quarterly")),
        )


@dataclass(frozen=True)
class SummariesConfig:
    subscriptions: tuple[SubscriptionSpec, ...] = ()
    feeds: tuple[FeedSpec, ...] = ()
    report: ReportSpec | None = None


class SummariesFileError(ConfigFileError):
    """The summaries file has problems; `errors` lists them all, in line order."""

    def __init__(self, errors: list[FileProblem], source: str = SOURCE) -> None:
        super().__init__(errors, source)


def parse_weekday(value: str) -> int:
    """monday, mon, lundi or 0..6 (0 = Monday) → 0..6; ValueError otherwise."""
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    for names in (DAY_NAMES, FULL_DAY_NAMES, FRENCH_DAY_NAMES):
        if text in names:
            return names.index(text)
    if text in {name[:3] for name in FRENCH_DAY_NAMES}:
        return [name[:3] for name in FRENCH_DAY_NAMES].index(text)
    raise ValueError(f"{value!r} is not a day: use monday … sunday, mon … sun, or 0 … 6")


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# --- reading ----------------------------------------------------------------------------------


def parse(
    text: str, source: str = SOURCE, *, areas: Iterable[str] | None = None
) -> SummariesConfig:
    """Check a summaries file; raise `SummariesFileError` listing every problem.

    With `areas` (the routing model's area names), every area named must be one of them and
    is written as the routing model spells it.
    """
    root = compose_yaml(text, source, SummariesFileError)
    if root is None:
        return SummariesConfig()  # an empty file: no subscriptions, no feeds
    known = None if areas is None else {area.casefold(): area for area in areas}
    checker = _SummariesChecker(known)
    config = checker.config(root)
    if checker.problems or config is None:
        raise SummariesFileError(checker.problems, source)
    return config


class _SummariesChecker(Checker):
    def __init__(self, known_areas: dict[str, str] | None) -> None:
        super().__init__()
        self.known_areas = known_areas
        self.subscription_names: dict[str, int] = {}
        self.feed_names: dict[str, int] = {}

    def config(self, root: Node) -> SummariesConfig | None:
        top = self.mapping(root, "", ("subscriptions", "feeds", "report"))
        if top is None:
            return None
        report = None
        if top.get("report") is not None and not is_null(top["report"]):
            report = self.report(top["report"], "report")
            if report is None:
                return None
        subscriptions = [
            self.subscription(node, f"subscriptions[{index}]")
            for index, node in enumerate(
                self.sequence(top.get("subscriptions"), "subscriptions", "subscriptions")
            )
        ]
        feeds = [
            self.feed(node, f"feeds[{index}]")
            for index, node in enumerate(self.sequence(top.get("feeds"), "feeds", "feeds"))
        ]
        if any(s is None for s in subscriptions) or any(f is None for f in feeds):
            return None
        return SummariesConfig(
            subscriptions=tuple(s for s in subscriptions if s is not None),
            feeds=tuple(f for f in feeds if f is not None),
            report=report,
        )

    def timezone(self, node: Node, field: str) -> str | None:
        text = self.text(node, field, limit=TIMEZONE_LIMIT)
        if text is not None and not valid_timezone(text):
            self.problem(
                node,
                field,
                f"“{text}” is not a time zone: use an IANA name, like Europe/Paris or UTC",
            )
            return None
        return text

    def language(self, node: Node, field: str) -> str | None:
        text = self.text(node, field, limit=16)
        if text is not None and text.lower() not in LANGUAGES:
            self.problem(node, field, "must be en or fr")
            return None
        return text.lower() if text is not None else None

    def report(self, node: Node, field: str) -> ReportSpec | None:
        values = self.mapping(node, field, REPORT_KEYS, required=("channel",))
        if values is None:
            return None
        drop_nulls(values, ("dm", "timezone", "language", "monthly", "quarterly"))
        ok = True
        channel = self.channel(values.get("channel"), f"{field}.channel")
        dm: list[str] = []
        dm_nodes = values.get("dm")
        if dm_nodes is not None:
            nodes = [dm_nodes] if isinstance(dm_nodes, ScalarNode) else None
            if isinstance(dm_nodes, SequenceNode):
                nodes = list(dm_nodes.value)
            if nodes is None:
                self.problem(dm_nodes, f"{field}.dm", "must be a list of user ids or emails")
                nodes, ok = [], False
            if len(nodes) > DM_LIMIT:
                self.problem(dm_nodes, f"{field}.dm", f"names more than {DM_LIMIT} people")
                ok = False
            for index, each in enumerate(nodes):
                person = self.user(each, f"{field}.dm[{index}]")
                if person is None:
                    ok = False
                elif person.casefold() not in {p.casefold() for p in dm}:
                    dm.append(person)
        timezone, language = "UTC", "en"
        if "timezone" in values:
            found = self.timezone(values["timezone"], f"{field}.timezone")
            ok, timezone = (ok and found is not None), found or timezone
        if "language" in values:
            found = self.language(values["language"], f"{field}.language")
            ok, language = (ok and found is not None), found or language
        schedules: dict[str, ReportSchedule | None] = {}
        given = [c for c in REPORT_CADENCES if c in values]
        for cadence in REPORT_CADENCES:
            if cadence not in values:
                # Neither given: both, on day 1 at 09:00; one given: only that one.
                schedules[cadence] = None if given else ReportSchedule()
                continue
            schedule = self.schedule(values[cadence], f"{field}.{cadence}")
            ok = ok and schedule is not None
            schedules[cadence] = schedule
        if not ok or channel is None:
            return None
        return ReportSpec(
            channel=channel,
            dm=tuple(dm),
            timezone=timezone,
            language=language,
            monthly=schedules["monthly"],
            quarterly=schedules["quarterly"],
        )

    def schedule(self, node: Node, field: str) -> ReportSchedule | None:
        values = self.mapping(node, field, SCHEDULE_KEYS)
        if values is None:
            return None
        drop_nulls(values, SCHEDULE_KEYS)
        day, clock, ok = 1, "09:00", True
        if "day" in values:
            text = self.text(values["day"], f"{field}.day", limit=8)
            if text is None or not text.isdigit() or not 1 <= int(text) <= 28:
                if text is not None:
                    self.problem(
                        values["day"], f"{field}.day", "must be a day of the month, 1 to 28"
                    )
                ok = False
            else:
                day = int(text)
        if "time" in values:
            text = self.text(values["time"], f"{field}.time", limit=16)
            try:
                clock = parse_clock(text or "", "").strftime("%H:%M")
            except SlaError as exc:
                if text is not None:
                    self.problem(values["time"], f"{field}.time", str(exc))
                ok = False
        return ReportSchedule(day, clock) if ok else None

    def area(self, node: Node | None, field: str) -> str | None:
        name = self.text(node, field)
        if name is None or node is None or self.known_areas is None:
            return name
        found = self.known_areas.get(name.casefold())
        if found is None:
            self.problem(node, field, f"no area is named “{name}” in the routing model")
        return found

    def subscription(self, node: Node, field: str) -> SubscriptionSpec | None:
        values = self.mapping(node, field, SUBSCRIPTION_KEYS, required=("name", "channel"))
        if values is None:
            return None
        drop_nulls(values, ("areas", "weekday", "time", "timezone", "language"))
        ok = True
        name = self.unique_name(values, field, self.subscription_names)
        channel = self.channel(values.get("channel"), f"{field}.channel")
        areas: list[str] = []
        areas_node = values.get("areas")
        if areas_node is not None:
            if isinstance(areas_node, ScalarNode):
                area_nodes = [areas_node]  # `areas: Billing` means [Billing]
            elif isinstance(areas_node, SequenceNode):
                area_nodes = list(areas_node.value)
            else:
                self.problem(areas_node, f"{field}.areas", "must be a list of area names")
                area_nodes, ok = [], False
            for index, area_node in enumerate(area_nodes):
                area = self.area(area_node, f"{field}.areas[{index}]")
                if area is None:
                    ok = False
                elif area.casefold() not in {a.casefold() for a in areas}:
                    areas.append(area)
        weekday, clock, timezone, language = 0, "09:00", "UTC", "en"
        if "weekday" in values:
            text = self.text(values["weekday"], f"{field}.weekday", limit=16)
            try:
                weekday = parse_weekday(text or "")
            except ValueError as exc:
                if text is not None:
                    self.problem(values["weekday"], f"{field}.weekday", str(exc))
                ok = False
        if "time" in values:
            text = self.text(values["time"], f"{field}.time", limit=16)
            try:
                clock = parse_clock(text or "", "").strftime("%H:%M")
            except SlaError as exc:
                if text is not None:
                    self.problem(values["time"], f"{field}.time", str(exc))
                ok = False
        if "timezone" in values:
            text = self.text(values["timezone"], f"{field}.timezone", limit=TIMEZONE_LIMIT)
            if text is not None and not valid_timezone(text):
                self.problem(
                    values["timezone"],
                    f"{field}.timezone",
                    f"“{text}” is not a time zone: use an IANA name, like Europe/Paris or UTC",
                )
            if text is None or not valid_timezone(text):
                ok = False
            else:
                timezone = text
        if "language" in values:
            text = self.text(values["language"], f"{field}.language", limit=16)
            if text is not None and text.lower() not in LANGUAGES:
                self.problem(values["language"], f"{field}.language", "must be en or fr")
            if text is None or text.lower() not in LANGUAGES:
                ok = False
            else:
                language = text.lower()
        if not ok or name is None or channel is None:
            return None
        return SubscriptionSpec(
            name=name,
            channel=channel,
            areas=tuple(areas),
            weekday=weekday,
            time=clock,
            timezone=timezone,
            language=language,
        )

    def feed(self, node: Node, field: str) -> FeedSpec | None:
        values = self.mapping(node, field, FEED_KEYS, required=("name", "area"))
        if values is None:
            return None
        ok = True
        name = self.unique_name(values, field, self.feed_names)
        kinds = [kind for kind in FEED_KINDS if kind in values]
        kind = url = None
        if len(kinds) != 1:
            self.problem(
                node,
                field,
                "needs exactly one source: `github: owner/name`, `rss: URL` or `json: URL`"
                + (f" (it has {', '.join(kinds)})" if kinds else ""),
            )
            ok = False
        else:
            kind = kinds[0]
            url = self.text(values[kind], f"{field}.{kind}", limit=URL_LIMIT)
            if url is None:
                ok = False
            elif kind == "github" and not GITHUB_REPOSITORY.match(url):
                self.problem(values[kind], f"{field}.github", "must be a repository, like acme/web")
                ok = False
            elif kind != "github" and not HTTP_URL.match(url):
                self.problem(
                    values[kind], f"{field}.{kind}", "must be an http:// or https:// address"
                )
                ok = False
        area = self.area(values.get("area"), f"{field}.area")
        if not ok or name is None or area is None or kind is None or url is None:
            return None
        return FeedSpec(name=name, kind=kind, url=url, area=area)


# --- writing ----------------------------------------------------------------------------------

_HEADER = (
    "# Jerry's weekly summaries and product-update feeds. "
    "Change it, then: jerry summaries import FILE\n"
)


def dump(config: SummariesConfig) -> str:
    """The configuration in the summaries file format (every field written)."""
    subscriptions: list[dict[str, Any]] = []
    for spec in config.subscriptions:
        entry: dict[str, Any] = {"name": spec.name, "channel": spec.channel}
        if spec.areas:
            entry["areas"] = FlowList(spec.areas)
        entry.update(
            weekday=FULL_DAY_NAMES[spec.weekday],
            time=spec.time,
            timezone=spec.timezone,
            language=spec.language,
        )
        subscriptions.append(entry)
    feeds = [{"name": f.name, f.kind: f.url, "area": f.area} for f in config.feeds]
    document: dict[str, Any] = {"subscriptions": subscriptions, "feeds": feeds}
    sections: tuple[str, ...] = ("feeds",)
    if config.report is not None:
        report = config.report.as_setting()
        report["dm"] = FlowList(report["dm"])
        for cadence in REPORT_CADENCES:
            if cadence in report:
                report[cadence] = FlowMap(report[cadence])
        if not report["dm"]:
            del report["dm"]
        document["report"] = report
        sections = ("feeds", "report")
    text = dump_yaml(document, sections=sections)
    return _HEADER + text
