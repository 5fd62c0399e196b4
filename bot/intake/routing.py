"""The routing model and the routing decision: which team gets an item, and why.

Pure code: no Slack, no database. The model comes from a routing file (`bot.intake.routing_file`)
or from the database (`bot.intake.routing_store`); `decide` picks the team in this order:

1. the area the reporter chose in the intake form;
2. the rules, in file order (first match wins): every condition of a rule must hold
   (`channel` equals the item's channel; `pattern` is a case- and accent-insensitive
   regular expression searched in the text, in RE2's syntax: matching takes time linear in
   the text whatever the pattern, so no rule can freeze Jerry; backreferences and
   lookarounds do not exist there, and `\\w`, `\\b` and `\\d` are ASCII-only);
3. the keywords: whole words, case- and accent-insensitive ("Facturé" matches "facture"),
   multi-word keywords match as phrases; the area with the most *distinct* keywords found
   wins, ties go to the area that comes first in the file;
4. triage (product ops).

Keyword matching decisions worth knowing:
- only whole words match: no stems, no plurals ("refunds" and "refunding" do not match
  "refund": list the forms you want);
- punctuation between words is ignored, so "e-mail" matches "e mail" and "e-mail", and a
  phrase matches across punctuation ("credit, card" matches "credit card");
- Slack markup is ignored: mentions (`<@U…>`, `<#C…|name>`, `<!here>`) and link targets never
  match, only a link's label does (`<https://…|the invoice>` matches "invoice"); `&amp;`,
  `&lt;` and `&gt;` are read as `&`, `<` and `>`. Rule patterns are searched in that same
  visible text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import re2

from bot.i18n import t
from bot.items.domain import TRIAGE_TEAM_NAME
from bot.text import escape_plain

Step = Literal["chosen_area", "rule", "keywords", "triage"]
STEPS: tuple[str, ...] = ("chosen_area", "rule", "keywords", "triage")


@dataclass(frozen=True)
class AreaSpec:
    name: str
    keywords: tuple[str, ...]
    team: str  # the name of the team the area belongs to
    id: int | None = None


@dataclass(frozen=True)
class TeamSpec:
    name: str
    lead: str  # a Slack user id (or, before `resolve_emails`, the email written in the file)
    backup: str | None = None
    channel: str | None = None
    areas: tuple[AreaSpec, ...] = ()
    lead_email: str | None = None
    backup_email: str | None = None
    is_triage: bool = False
    id: int | None = None
    # Service levels (bot/sla/business_time.py), as written in the file; None means the default.
    ack_target: str | None = None
    answer_target: str | None = None
    business_days: str | None = None  # "mon,tue,wed,thu,fri"
    business_start: str | None = None  # "09:00"
    business_end: str | None = None  # "18:00"
    # Where the team's work is tracked (bot/trackers): a Jira project key or a Linear team
    # key (at most one), and the Jira issue type "Create issue" proposes first.
    jira_project: str | None = None
    linear_team: str | None = None
    issue_type: str | None = None


@dataclass(frozen=True)
class RuleSpec:
    name: str
    team: str | None = None  # exactly one of team / area (a name)
    area: str | None = None
    channel: str | None = None  # at least one of channel / pattern
    pattern: str | None = None


@dataclass(frozen=True)
class EmojiSpec:
    """A reaction that files the message it is on (bot/capture): its name without colons,
    and optionally the kind and the area of the items it files."""

    name: str
    kind: str | None = None  # painpoint | question; None: a pain point
    area: str | None = None  # an area's name; None: routed as any item


DEFAULT_EMOJI = (EmojiSpec("ticket"),)


@dataclass(frozen=True)
class RoutingModel:
    triage: TeamSpec
    teams: tuple[TeamSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    # The file's `insights: minutes_saved:` (minutes one occurrence of each kind of saving
    # is worth; bot/insights/domain.py SAVING_KINDS); None: the section is absent.
    minutes_saved: tuple[tuple[str, int], ...] | None = None
    # The file's `capture: emoji:` (bot/capture); None: the section is absent (:ticket:).
    capture_emoji: tuple[EmojiSpec, ...] | None = None

    def areas(self) -> tuple[AreaSpec, ...]:
        """Every area, in file order."""
        return self._index[0]

    def area(self, name: str) -> AreaSpec | None:
        return self._index[1].get(_key(name))

    def team(self, name: str) -> TeamSpec | None:
        """A team by name, case-insensitively; `TRIAGE_TEAM_NAME` gives the triage team."""
        return self._index[2].get(_key(name))

    def without_ids(self) -> RoutingModel:
        """The same model with every database id cleared (to compare with a parsed file)."""

        def team(spec: TeamSpec) -> TeamSpec:
            return replace(spec, id=None, areas=tuple(replace(a, id=None) for a in spec.areas))

        return replace(self, triage=team(self.triage), teams=tuple(team(t) for t in self.teams))

    # Built once per instance (cached_property writes to __dict__, which frozen allows).
    @cached_property
    def _index(self) -> tuple[tuple[AreaSpec, ...], dict[str, AreaSpec], dict[str, TeamSpec]]:
        areas = tuple(area for team in self.teams for area in team.areas)
        by_area: dict[str, AreaSpec] = {}
        for area in areas:
            by_area.setdefault(_key(area.name), area)
        by_team: dict[str, TeamSpec] = {_key(TRIAGE_TEAM_NAME): self.triage}
        for team in self.teams:
            by_team.setdefault(_key(team.name), team)
        return areas, by_area, by_team

    @cached_property
    def _matcher(self) -> _Matcher:
        return _Matcher(self)


@dataclass(frozen=True)
class Decision:
    team: TeamSpec
    area: AreaSpec | None
    step: Step
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-safe: stored on the item


def _key(name: str) -> str:
    return name.strip().casefold()


# --- text preparation -------------------------------------------------------------------------

_MARKUP = re.compile(r"<([^<>]*)>")
_WORD = re.compile(r"[^\W_]+")  # letters and digits; `_` is Slack's italics, not a letter


def _markup(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner[:1] in {"@", "#", "!"}:
        return " "  # a mention, a channel, a broadcast: never matches
    _, bar, label = inner.partition("|")
    return f" {label} " if bar else " "  # a link: only its label counts


def visible_text(text: str) -> str:
    """Slack-formatted text as people read it: markup gone (link labels kept), entities decoded."""
    text = _MARKUP.sub(_markup, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case- and accent-insensitive form: casefold, NFKD, combining marks dropped."""
    return strip_accents(text.casefold())


def words(text: str) -> list[str]:
    """The folded words of plain text (what keywords are matched against)."""
    return _WORD.findall(fold(text))


class _Matcher:
    """The model's keywords and rule patterns, compiled once."""

    def __init__(self, model: RoutingModel) -> None:
        self.areas = model.areas()
        # first word of a keyword → [(all its words, area index, keyword as written)]
        self.index: dict[str, list[tuple[tuple[str, ...], int, str]]] = {}
        for number, area in enumerate(self.areas):
            seen: set[tuple[str, ...]] = set()
            for keyword in area.keywords:
                phrase = tuple(words(keyword))
                if not phrase or phrase in seen:
                    continue
                seen.add(phrase)
                self.index.setdefault(phrase[0], []).append((phrase, number, keyword))
        self.patterns: dict[str, tuple[re2._Regexp, re2._Regexp | None]] = {}
        for rule in model.rules:
            if rule.pattern and rule.pattern not in self.patterns:
                self.patterns[rule.pattern] = _compile_pattern(rule.pattern)

    def keyword_hits(self, tokens: list[str]) -> list[list[str]]:
        """For each area (file order), the distinct keywords found, as written in the file."""
        found: list[dict[str, None]] = [{} for _ in self.areas]
        count = len(tokens)
        for position, token in enumerate(tokens):
            for phrase, number, keyword in self.index.get(token, ()):
                end = position + len(phrase)
                if end <= count and (len(phrase) == 1 or tuple(tokens[position:end]) == phrase):
                    found[number][keyword] = None
        # Report keywords in the order the file lists them.
        return [
            [k for k in dict.fromkeys(area.keywords) if k in hits] if hits else []
            for area, hits in zip(self.areas, found, strict=True)
        ]

    def pattern_matches(self, pattern: str, text: str, folded: str) -> bool:
        compiled = self.patterns.get(pattern) or _compile_pattern(pattern)
        plain, accentless = compiled
        if plain.search(text):
            return True
        return accentless is not None and accentless.search(folded) is not None


def _pattern_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported to the admin, not to stderr
    return options


_PATTERN_OPTIONS = _pattern_options()


def pattern_problem(pattern: str) -> str | None:
    """Why a rule pattern cannot be used (RE2 refuses it), or None when it can."""
    try:
        re2.compile(pattern, _PATTERN_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return str(reason)
    return None


def _compile_pattern(pattern: str) -> tuple[re2._Regexp, re2._Regexp | None]:
    """RE2, not `re`: a backtracking engine takes exponential time on patterns like
    `(\\w+\\s?)+$`, and a rule runs on every item, on the event loop."""
    plain = re2.compile(pattern, _PATTERN_OPTIONS)
    try:
        accentless = re2.compile(strip_accents(pattern), _PATTERN_OPTIONS)
    except re2.error:
        accentless = None
    return plain, accentless


# --- the decision -----------------------------------------------------------------------------


def decide(
    model: RoutingModel,
    text: str,
    channel: str | None = None,
    chosen_area: str | None = None,
) -> Decision:
    """Which team gets an item with this (Slack-formatted) text, and why."""
    if chosen_area:
        area = model.area(chosen_area)
        team = model.team(area.team) if area else None
        if area is not None and team is not None:
            return Decision(team, area, "chosen_area", {"area": area.name})

    matcher = model._matcher
    shown = visible_text(text)
    if model.rules:
        accentless = strip_accents(shown)
        for rule in model.rules:
            if not (rule.channel or rule.pattern):
                continue
            if rule.channel and rule.channel != channel:
                continue
            if rule.pattern and not matcher.pattern_matches(rule.pattern, shown, accentless):
                continue
            target = _rule_target(model, rule)
            if target is None:
                continue
            detail: dict[str, Any] = {"rule": rule.name}
            if rule.channel:
                detail["channel"] = rule.channel
            if rule.pattern:
                detail["pattern"] = rule.pattern
            return Decision(target[0], target[1], "rule", detail)

    if matcher.index:
        best: tuple[AreaSpec, list[str]] | None = None
        for area, hits in zip(matcher.areas, matcher.keyword_hits(words(shown)), strict=True):
            if hits and (best is None or len(hits) > len(best[1])):
                best = (area, hits)
        if best is not None:
            team = model.team(best[0].team)
            if team is not None:
                return Decision(
                    team, best[0], "keywords", {"area": best[0].name, "keywords": best[1]}
                )

    return Decision(model.triage, None, "triage", {})


def _rule_target(model: RoutingModel, rule: RuleSpec) -> tuple[TeamSpec, AreaSpec | None] | None:
    if rule.area:
        area = model.area(rule.area)
        team = model.team(area.team) if area else None
        return (team, area) if area is not None and team is not None else None
    if rule.team:
        team = model.team(rule.team)
        return (team, None) if team is not None else None
    return None


# --- why, in words ----------------------------------------------------------------------------


def explain(step: str, detail: Mapping[str, Any] | None, lang: str | None) -> str:
    """One sentence saying why an item went where it did (Slack mrkdwn, through `t`)."""
    detail = detail or {}

    def quoted(value: object) -> str:
        return t("routing.quoted", lang, text=escape_plain(str(value)))

    if step == "chosen_area":
        # An imported backlog row's area was written in the file, not chosen by the reporter.
        key = "routing.why.area_in_file" if detail.get("file") else "routing.why.chosen_area"
        return t(key, lang, area=escape_plain(str(detail.get("area", ""))))
    if step == "rule":
        rule = quoted(detail.get("rule", ""))
        channel = detail.get("channel")
        pattern = detail.get("pattern")
        channel_text = f"<#{channel}>" if channel else ""
        pattern_text = f"`{escape_plain(str(pattern))}`" if pattern else ""
        if channel and pattern:
            return t(
                "routing.why.rule_channel_pattern",
                lang,
                rule=rule,
                channel=channel_text,
                pattern=pattern_text,
            )
        if channel:
            return t("routing.why.rule_channel", lang, rule=rule, channel=channel_text)
        if pattern:
            return t("routing.why.rule_pattern", lang, rule=rule, pattern=pattern_text)
        return t("routing.why.rule", lang, rule=rule)
    if step == "keywords":
        keywords = [str(k) for k in detail.get("keywords") or []]
        return t(
            "routing.why.keyword" if len(keywords) == 1 else "routing.why.keywords",
            lang,
            keywords=", ".join(quoted(k) for k in keywords),
            area=escape_plain(str(detail.get("area", ""))),
        )
    if step == "triage":
        return t("routing.why.triage", lang)
    return t("routing.why.other", lang, step=escape_plain(step))
