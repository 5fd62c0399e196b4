"""The surveys file (YAML): pulse surveys, who answers them, when, and their questions.

```yaml
surveys:
  - name: pm-pulse
    title: Product manager pulse
    owner_channel: C0PRODOPS              # where results are posted
    audience: {usergroup: S0PMS}          # or {users: [U…, …]} or {channel: C…}, or several:
                                          # {usergroups: [S…, …], channels: [C…, …], users: [U…]}
    deliver: dm                           # or a channel id: one message there for everyone
    schedule: {every: 2 weeks, day: monday, time: "10:00"}   # or {cron: "0 10 * * mon"}
    timezone: Europe/Paris
    open_for: 3d                          # calendar time: d, h, m (e.g. 36h, 1d12h)
    remind_before: 1d                     # optional: remind who has not finished
    anonymous: true
    language: en                          # en | fr: the language of the survey's messages
    questions:
      - {id: priorities, kind: scale5, text: "...", low: "Not at all", high: "Completely"}
      - {id: nps, kind: scale10, text: "..."}
      - {id: focus, kind: choice, text: "...", options: [Discovery, Delivery, Support]}
      - {id: time, kind: text, text: "..."}
```

Schedules are APScheduler cron fields in the survey's timezone (so 10:00 in Paris stays
10:00 across daylight-saving changes). `every: N weeks` is `week: */N` on ISO week numbers:
weeks 1, 3, 5 … for two weeks; in a year of 53 ISO weeks, week 53 and the next week 1 both
run. `every: day` runs every day at `time`. A `cron:` line has the five crontab fields
(minute hour day-of-month month day-of-week, day-of-week 0 or 7 = Sunday as in crontab).

It is checked like the routing file (with bot/config_file.py's checker): every problem is
reported with its line and field.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config_file import (
    USER_ID,
    Checker,
    ConfigFileError,
    FileProblem,
    FlowList,
    FlowMap,
    compose_yaml,
    drop_nulls,
    dump_yaml,
    line_of,
)
from bot.i18n import t
from bot.sla.business_time import DAY_NAMES, FULL_DAY_NAMES, SlaError, parse_clock
from bot.summaries.file import LANGUAGES, TIMEZONE_LIMIT, parse_weekday, valid_timezone
from bot.surveys.results_domain import LISTED_PEOPLE

SOURCE = "surveys file"
QUESTION_KINDS = ("scale5", "scale10", "choice", "text")
AUDIENCE_KINDS = ("usergroup", "users", "channel")
# An audience of several user groups and channels (and listed people) is stored as kind
# GROUPS with entries "usergroup:S…", "channel:C…", "users:U…" (bot/surveys/file.audience_entries).
GROUPS = "groups"
AUDIENCE_KEYS = ("usergroup", "usergroups", "channel", "channels", "users")
MAX_AUDIENCE_GROUPS = 20  # user groups and channels read at each round (a Slack call or more each)
SURVEY_KEYS = (
    "name",
    "title",
    "owner_channel",
    "audience",
    "deliver",
    "schedule",
    "timezone",
    "open_for",
    "remind_before",
    "anonymous",
    "language",
    "questions",
)
QUESTION_KEYS = ("id", "kind", "text", "low", "high", "options")
SCHEDULE_KEYS = ("every", "day", "time", "cron")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
QUESTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$", re.IGNORECASE)
EVERY = re.compile(r"^\s*(?:(\d+)\s+)?(day|days|week|weeks)\s*$", re.IGNORECASE)
TITLE_LIMIT = 150  # a header block
QUESTION_TEXT_LIMIT = 1000
LABEL_LIMIT = 75  # a button or a context line stays short
OPTION_LIMIT = 75  # a button's text
MAX_QUESTIONS = 20
MAX_OPTIONS = 25  # one actions block
MAX_WEEKS = 8
MAX_OPEN = timedelta(days=60)
MIN_OPEN = timedelta(minutes=10)
CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


@dataclass(frozen=True)
class QuestionSpec:
    id: str
    kind: str  # scale5 | scale10 | choice | text
    text: str
    low: str | None = None  # scales: what the lowest value means
    high: str | None = None
    options: tuple[str, ...] = ()  # choice
    # Other languages than the survey's: {"fr": {"text": …, "low": …, "high": …}}. Each person
    # is asked in their Slack language when the question has it, else in the survey's.
    translations: dict[str, dict[str, str]] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict[str, Any]:
        """As stored in Survey.questions (and read back by bot.surveys.answers.questions_of).
        `text`, `low` and `high` stay in the survey's language (results are written in it)."""
        stored: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "low": self.low,
            "high": self.high,
            "options": list(self.options),
        }
        if self.translations:
            stored["translations"] = {
                lang: dict(texts) for lang, texts in sorted(self.translations.items())
            }
        return stored

    def written(self, key: str, language: str) -> str | dict[str, str] | None:
        """`text`, `low` or `high` as the file writes it: the plain string, or, when it is
        translated, {survey language: …, other language: …}."""
        value = getattr(self, key)
        others = {lang: texts[key] for lang, texts in self.translations.items() if key in texts}
        if value is None or not others:
            return value
        return {language: value, **dict(sorted(others.items()))}


@dataclass(frozen=True)
class SurveySpec:
    name: str
    title: str
    owner_channel: str
    audience_kind: str  # usergroup | users | channel | groups (several: see GROUPS)
    audience: tuple[str, ...]  # the group or channel id, the user ids, or GROUPS' entries
    schedule: dict[str, str] = field(hash=False)  # APScheduler CronTrigger fields
    questions: tuple[QuestionSpec, ...]
    deliver: str = "dm"  # dm | a channel id
    timezone: str = "UTC"
    open_for: str = "3d"
    remind_before: str | None = None
    anonymous: bool = False
    language: str = "en"


class SurveysFileError(ConfigFileError):
    """The surveys file has problems; `errors` lists them all, in line order."""

    def __init__(self, errors: list[FileProblem], source: str = SOURCE) -> None:
        super().__init__(errors, source)


# --- durations and schedules ------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """ "3d", "36h", "1d12h", "90m" → a timedelta; ValueError otherwise (calendar time)."""
    match = DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise ValueError(f"“{text}” is not a duration: write it like 3d, 36h, 1d12h or 90m")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def trigger_of(schedule: dict[str, Any], timezone: str) -> CronTrigger:
    """The survey's schedule as an APScheduler trigger in its timezone."""
    fields = {key: value for key, value in schedule.items() if key in (*CRON_FIELDS, "week")}
    return CronTrigger(timezone=timezone, **fields)


def _cron_day_of_week(value: str) -> str:
    """crontab's day of week (0 or 7 = Sunday) in APScheduler's names (where 0 = Monday)."""
    return re.sub(r"(?<![/\d])(\d)(?!\d)", lambda m: _CRON_DAYS[int(m.group(1)) % 8], value)


def schedule_from_cron(line: str) -> dict[str, str]:
    """A five-field crontab line → CronTrigger fields; ValueError when it is not one."""
    parts = line.split()
    if len(parts) != 5:
        raise ValueError(
            f"“{line}” needs five fields: minute hour day-of-month month day-of-week, "
            'like "0 10 * * mon"'
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    fields["day_of_week"] = _cron_day_of_week(fields["day_of_week"].lower())
    if any(int(d) > 7 for d in re.findall(r"(?<![/\d])\d+", parts[4])):
        raise ValueError(f"“{parts[4]}” is not a day of the week: use 0-7 or mon … sun")
    CronTrigger(**fields)  # raises ValueError for a field it cannot read
    return fields


def describe_schedule(schedule: dict[str, str]) -> dict[str, str]:
    """The schedule as the file writes it: {every, day, time} when it is one, else {cron}."""
    keys = set(schedule)
    hour, minute = schedule.get("hour", ""), schedule.get("minute", "")
    simple_time = hour.isdigit() and minute.isdigit()
    clock = f"{int(hour or 0):02d}:{int(minute or 0):02d}" if simple_time else ""
    week = schedule.get("week")
    if simple_time and keys <= {"hour", "minute", "day_of_week", "week"}:
        day = schedule.get("day_of_week", "*")
        if day in DAY_NAMES:
            weeks = 1 if week is None else int(week[2:]) if re.fullmatch(r"\*/\d+", week) else 0
            if weeks:
                every = "week" if weeks == 1 else f"{weeks} weeks"
                return {"every": every, "day": FULL_DAY_NAMES[DAY_NAMES.index(day)], "time": clock}
        if day == "*" and week is None:
            return {"every": "day", "time": clock}
    fields = [schedule.get(key, "*") for key in CRON_FIELDS]
    return {"cron": " ".join(fields)}


# --- reading ----------------------------------------------------------------------------------


def parse(text: str, source: str = SOURCE) -> tuple[SurveySpec, ...]:
    """Check a surveys file; raise `SurveysFileError` listing every problem."""
    root = compose_yaml(text, source, SurveysFileError)
    if root is None:
        return ()
    checker = _SurveysChecker()
    surveys = checker.surveys(root)
    if checker.problems or surveys is None:
        raise SurveysFileError(checker.problems, source)
    return surveys


class _SurveysChecker(Checker):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, int] = {}

    def surveys(self, root: Node) -> tuple[SurveySpec, ...] | None:
        top = self.mapping(root, "", ("surveys",))
        if top is None:
            return None
        found = [
            self.survey(node, f"surveys[{index}]")
            for index, node in enumerate(self.sequence(top.get("surveys"), "surveys", "surveys"))
        ]
        if any(spec is None for spec in found):
            return None
        return tuple(spec for spec in found if spec is not None)

    def survey(self, node: Node, field: str) -> SurveySpec | None:
        required = ("name", "title", "owner_channel", "audience", "schedule", "questions")
        values = self.mapping(node, field, SURVEY_KEYS, required=required)
        if values is None:
            return None
        drop_nulls(values, ("deliver", "timezone", "open_for", "remind_before", "anonymous"))
        drop_nulls(values, ("language",))
        ok = True
        name = self.unique_name(values, field, self.names)
        title = self.text(values.get("title"), f"{field}.title", limit=TITLE_LIMIT)
        owner = self.channel(values.get("owner_channel"), f"{field}.owner_channel")
        audience = self.audience(values.get("audience"), f"{field}.audience")
        deliver = "dm"
        if "deliver" in values:
            text = self.text(values["deliver"], f"{field}.deliver", limit=64)
            if text is not None and text.lower() == "dm":
                deliver = "dm"
            elif text is not None:
                deliver = self.channel(values["deliver"], f"{field}.deliver") or ""
                ok = ok and bool(deliver)
            else:
                ok = False
        timezone = "UTC"
        if "timezone" in values:
            text = self.text(values["timezone"], f"{field}.timezone", limit=TIMEZONE_LIMIT)
            if text is not None and not valid_timezone(text):
                self.problem(
                    values["timezone"],
                    f"{field}.timezone",
                    f"“{text}” is not a time zone: use an IANA name, like Europe/Paris or UTC",
                )
                text = None
            ok = ok and text is not None
            timezone = text or timezone
        schedule = self.schedule(values.get("schedule"), f"{field}.schedule")
        open_for, open_delta = "3d", timedelta(days=3)
        if "open_for" in values:
            found = self.duration(values["open_for"], f"{field}.open_for")
            if found is not None and not MIN_OPEN <= found[1] <= MAX_OPEN:
                self.problem(values["open_for"], f"{field}.open_for", "must be between 10m and 60d")
                found = None
            ok = ok and found is not None
            open_for, open_delta = found or (open_for, open_delta)
        remind_before = None
        if "remind_before" in values:
            found = self.duration(values["remind_before"], f"{field}.remind_before")
            if found is not None and not timedelta(0) < found[1] < open_delta:
                self.problem(
                    values["remind_before"],
                    f"{field}.remind_before",
                    f"must be shorter than open_for ({open_for}), and not zero",
                )
                found = None
            ok = ok and found is not None
            remind_before = found[0] if found else None
        anonymous = False
        if "anonymous" in values:
            flag = self.flag(values["anonymous"], f"{field}.anonymous")
            ok = ok and flag is not None
            anonymous = bool(flag)
        if anonymous and deliver not in ("", "dm"):
            # Everyone in the channel reads its thread: an answer there is signed by its author.
            self.problem(
                values["anonymous"],
                f"{field}.anonymous",
                f"the survey “{name or '?'}” is anonymous but delivered in {deliver}, where "
                "everyone sees who answered what: use `deliver: dm`, or `anonymous: false`",
            )
            ok = False
        language = "en"
        if "language" in values:
            text = self.text(values["language"], f"{field}.language", limit=16)
            if text is not None and text.lower() not in LANGUAGES:
                self.problem(values["language"], f"{field}.language", "must be en or fr")
                text = None
            ok = ok and text is not None
            language = (text or language).lower()
        questions = self.questions(values.get("questions"), f"{field}.questions", language)
        if (
            not ok
            or name is None
            or title is None
            or owner is None
            or audience is None
            or schedule is None
            or questions is None
        ):
            return None
        return SurveySpec(
            name=name,
            title=title,
            owner_channel=owner,
            audience_kind=audience[0],
            audience=audience[1],
            schedule=schedule,
            questions=questions,
            deliver=deliver,
            timezone=timezone,
            open_for=open_for,
            remind_before=remind_before,
            anonymous=anonymous,
            language=language,
        )

    def flag(self, node: Node, field: str) -> bool | None:
        text = self.text(node, field, limit=8)
        if text is None:
            return None
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        self.problem(node, field, "must be true or false")
        return None

    def duration(self, node: Node, field: str) -> tuple[str, timedelta] | None:
        text = self.text(node, field, limit=16)
        if text is None:
            return None
        try:
            return text.replace(" ", "").lower(), parse_duration(text)
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None

    def audience(self, node: Node | None, field: str) -> tuple[str, tuple[str, ...]] | None:
        """`{usergroup: S…}`, `{users: [U…]}`, `{channel: C…}` (one each, as before), or any
        mix of `usergroups: [S…]`, `channels: [C…]` and `users: [U…]`: (kind, entries)."""
        if node is None:
            return None
        values = self.mapping(node, field, AUDIENCE_KEYS)
        if values is None:
            return None
        if not values:
            self.problem(
                node,
                field,
                "needs `usergroup: S…`, `users: [U…, …]`, `channel: C…`, or several user groups "
                "and channels: `{usergroups: [S…, …], channels: [C…, …]}`",
            )
            return None
        for one, several in (("usergroup", "usergroups"), ("channel", "channels")):
            if one in values and several in values:
                self.problem(node, field, f"write `{one}` or `{several}`, not both")
                return None
        groups: list[str] = []
        channels: list[str] = []
        users: list[str] = []
        ok = True
        if "usergroup" in values:
            ok = self._one_id(values["usergroup"], f"{field}.usergroup", "usergroup", groups) and ok
        if "usergroups" in values:
            ok = self._ids(values["usergroups"], f"{field}.usergroups", "usergroup", groups) and ok
        if "channel" in values:
            ok = self._one_id(values["channel"], f"{field}.channel", "channel", channels) and ok
        if "channels" in values:
            ok = self._ids(values["channels"], f"{field}.channels", "channel", channels) and ok
        if "users" in values:
            ok = self._ids(values["users"], f"{field}.users", "user", users) and ok
        if not ok:
            return None
        if len(groups) + len(channels) > MAX_AUDIENCE_GROUPS:
            self.problem(
                node, field, f"lists more than {MAX_AUDIENCE_GROUPS} user groups and channels"
            )
            return None
        # One group, one channel or one list of people keeps its own form (as files had it).
        if not channels and not users and len(groups) == 1:
            return "usergroup", tuple(groups)
        if not groups and not users and len(channels) == 1:
            return "channel", tuple(channels)
        if not groups and not channels:
            return "users", tuple(users)
        entries = [f"usergroup:{g}" for g in groups] + [f"channel:{c}" for c in channels]
        return GROUPS, tuple(entries + [f"users:{u}" for u in users])

    def _one_id(self, node: Node, field: str, kind: str, found: list[str]) -> bool:
        if isinstance(node, SequenceNode):
            plural = "usergroups" if kind == "usergroup" else "channels"
            self.problem(node, field, f"takes one id: for several, write `{plural}: [ … ]`")
            return False
        value = self._id(node, field, kind)
        if value is not None:
            found.append(value)
        return value is not None

    def _ids(self, node: Node, field: str, kind: str, found: list[str]) -> bool:
        """A list of ids (or one) of `kind`, each once (repeats are dropped)."""
        nodes = [node] if isinstance(node, ScalarNode) else None
        if isinstance(node, SequenceNode):
            nodes = list(node.value)
        if not nodes:
            self.problem(node, field, f"must be a list of Slack {kind} ids")
            return False
        ok = True
        for index, item in enumerate(nodes):
            value = self._id(item, f"{field}[{index}]", kind)
            if value is None:
                ok = False
            elif value not in found:
                found.append(value)
        return ok

    def _id(self, node: Node, field: str, kind: str) -> str | None:
        if kind == "channel":
            return self.channel(node, field)
        value = self.text(node, field, limit=64)
        if value is None:
            return None
        if kind == "usergroup" and not USERGROUP_ID.match(value):
            self.problem(node, field, "must be a user group id, like S0614TZR7")
            return None
        if kind == "user" and not USER_ID.match(value):
            self.problem(node, field, "must be a Slack user id, like U012AB3CDE")
            return None
        return value

    def schedule(self, node: Node | None, field: str) -> dict[str, str] | None:
        if node is None:
            return None
        values = self.mapping(node, field, SCHEDULE_KEYS)
        if values is None:
            return None
        if "cron" in values:
            extra = [key for key in ("every", "day", "time") if key in values]
            if extra:
                self.problem(node, field, f"`cron` goes alone (not with {', '.join(extra)})")
                return None
            line = self.text(values["cron"], f"{field}.cron")
            if line is None:
                return None
            try:
                return schedule_from_cron(line)
            except ValueError as exc:
                self.problem(values["cron"], f"{field}.cron", str(exc).splitlines()[0])
                return None
        if "every" not in values:
            self.problem(node, field, "needs `every` (with `day` and `time`) or `cron`")
            return None
        ok = True
        every = self.text(values["every"], f"{field}.every", limit=32)
        match = EVERY.match(every or "")
        weeks = 0
        if every is not None and not match:
            self.problem(
                values["every"], f"{field}.every", "must be `day`, `week` or `N weeks` (N ≤ 8)"
            )
        if match:
            count = int(match.group(1) or 1)
            unit = match.group(2).lower().rstrip("s")
            if unit == "day" and count != 1:
                self.problem(
                    values["every"], f"{field}.every", "only `day` (every day); or use `cron`"
                )
                match = None
            elif unit == "week" and not 1 <= count <= MAX_WEEKS:
                self.problem(values["every"], f"{field}.every", f"at most {MAX_WEEKS} weeks")
                match = None
            else:
                weeks = count if unit == "week" else 0
        clock = "09:00"
        if "time" in values:
            text = self.text(values["time"], f"{field}.time", limit=16)
            try:
                clock = parse_clock(text or "", "").strftime("%H:%M")
            except SlaError as exc:
                if text is not None:
                    self.problem(values["time"], f"{field}.time", str(exc))
                ok = False
        day = None
        if "day" in values:
            text = self.text(values["day"], f"{field}.day", limit=16)
            try:
                day = DAY_NAMES[parse_weekday(text or "")]
            except ValueError as exc:
                if text is not None:
                    self.problem(values["day"], f"{field}.day", str(exc))
                ok = False
            if weeks == 0 and match and day is not None:
                self.problem(values["day"], f"{field}.day", "`every: day` takes no `day`")
                ok = False
        elif weeks:
            self.problem(node, f"{field}.day", "is required when `every` counts weeks")
            ok = False
        if not ok or not match:
            return None
        hour, minute = clock.split(":")
        fields = {"hour": str(int(hour)), "minute": str(int(minute))}
        if weeks:
            fields["day_of_week"] = day or "mon"
            if weeks > 1:
                fields["week"] = f"*/{weeks}"
        return fields

    def questions(
        self, node: Node | None, field: str, language: str
    ) -> tuple[QuestionSpec, ...] | None:
        nodes = self.sequence(node, field, "questions")
        if node is not None and not nodes and isinstance(node, SequenceNode | ScalarNode):
            self.problem(node, field, "needs at least one question")
            return None
        if node is not None and len(nodes) > MAX_QUESTIONS:  # (a missing node gives no nodes)
            self.problem(node, field, f"at most {MAX_QUESTIONS} questions")
            return None
        seen: dict[str, int] = {}
        found = [self.question(q, f"{field}[{i}]", seen, language) for i, q in enumerate(nodes)]
        if not nodes or any(q is None for q in found):
            return None
        return tuple(q for q in found if q is not None)

    def localized(
        self, node: Node | None, field: str, *, limit: int, language: str
    ) -> tuple[str | None, dict[str, str]]:
        """A text written plainly, or per language (`{en: …, fr: …}`, the survey's language
        required): (the survey language's text, {other language: text})."""
        if not isinstance(node, MappingNode):
            return self.text(node, field, limit=limit), {}
        values = self.mapping(node, field, LANGUAGES, required=(language,))
        if values is None:
            return None, {}
        texts = {lang: self.text(values[lang], f"{field}.{lang}", limit=limit) for lang in values}
        if language not in texts or any(text is None for text in texts.values()):
            return None, {}
        others = {lang: text for lang, text in texts.items() if lang != language and text}
        return texts[language], others

    def question(
        self, node: Node, field: str, seen: dict[str, int], language: str
    ) -> QuestionSpec | None:
        values = self.mapping(node, field, QUESTION_KEYS, required=("id", "kind", "text"))
        if values is None:
            return None
        drop_nulls(values, ("low", "high", "options"))
        ok = True
        qid = self.text(values.get("id"), f"{field}.id", limit=40)
        if qid is not None and not QUESTION_ID.match(qid):
            self.problem(values["id"], f"{field}.id", "letters, digits, - and _ only")
            qid = None
        elif qid is not None and qid.casefold() in seen:
            self.problem(
                values["id"],
                f"{field}.id",
                f"“{qid}” is already used (line {seen[qid.casefold()]}); ids must be unique",
            )
            qid = None
        elif qid is not None:
            seen[qid.casefold()] = line_of(values["id"])
        kind = self.text(values.get("kind"), f"{field}.kind", limit=16)
        if kind is not None and kind not in QUESTION_KINDS:
            self.problem(values["kind"], f"{field}.kind", "must be scale5, scale10, choice or text")
            kind = None
        text, text_in = self.localized(
            values.get("text"), f"{field}.text", limit=QUESTION_TEXT_LIMIT, language=language
        )
        translations: dict[str, dict[str, str]] = {}
        for lang, translated in text_in.items():
            translations.setdefault(lang, {})["text"] = translated
        low = high = None
        for key in ("low", "high"):
            if key not in values:
                continue
            if kind is not None and not kind.startswith("scale"):
                self.problem(values[key], f"{field}.{key}", "only scale questions have end labels")
                ok = False
                continue
            label, label_in = self.localized(
                values[key], f"{field}.{key}", limit=LABEL_LIMIT, language=language
            )
            for lang, translated in label_in.items():
                translations.setdefault(lang, {})[key] = translated
            ok = ok and label is not None
            low, high = (label, high) if key == "low" else (low, label)
        options: list[str] = []
        if "options" in values:
            if kind is not None and kind != "choice":
                self.problem(
                    values["options"], f"{field}.options", "only choice questions have options"
                )
                ok = False
            else:
                for index, option_node in enumerate(
                    self.sequence(values["options"], f"{field}.options", "options")
                ):
                    option = self.text(option_node, f"{field}.options[{index}]", limit=OPTION_LIMIT)
                    if option is None:
                        ok = False
                    elif option.casefold() in {o.casefold() for o in options}:
                        self.problem(option_node, f"{field}.options[{index}]", "appears twice")
                        ok = False
                    else:
                        options.append(option)
        if kind == "choice" and ok and not 2 <= len(options) <= MAX_OPTIONS:
            where = values.get("options", node)
            self.problem(where, f"{field}.options", f"a choice needs 2 to {MAX_OPTIONS} options")
            ok = False
        if not ok or qid is None or kind is None or text is None:
            return None
        return QuestionSpec(qid, kind, text, low, high, tuple(options), translations)


# --- writing ----------------------------------------------------------------------------------

_HEADER = "# Jerry's pulse surveys. Change it, then: jerry surveys import FILE\n"


def dump(surveys: tuple[SurveySpec, ...] | list[SurveySpec], header: str = _HEADER) -> str:
    """The surveys in the file format (every field written)."""
    entries: list[dict[str, Any]] = []
    for spec in surveys:
        audience = _dump_audience(spec)
        questions = []
        for question in spec.questions:
            entry: dict[str, Any] = {
                "id": question.id,
                "kind": question.kind,
                "text": question.written("text", spec.language),
            }
            if question.low:
                entry["low"] = question.written("low", spec.language)
            if question.high:
                entry["high"] = question.written("high", spec.language)
            if question.options:
                entry["options"] = FlowList(question.options)
            questions.append(entry)
        survey: dict[str, Any] = {
            "name": spec.name,
            "title": spec.title,
            "owner_channel": spec.owner_channel,
            "audience": audience,
            "deliver": spec.deliver,
            "schedule": FlowMap(describe_schedule(spec.schedule)),
            "timezone": spec.timezone,
            "open_for": spec.open_for,
        }
        if spec.remind_before:
            survey["remind_before"] = spec.remind_before
        survey.update(anonymous=spec.anonymous, language=spec.language, questions=questions)
        entries.append(survey)
    return header + dump_yaml({"surveys": entries}, space_entries=True)


def _dump_audience(spec: SurveySpec) -> FlowMap:
    if spec.audience_kind == "users":
        return FlowMap({"users": FlowList(spec.audience)})
    if spec.audience_kind != GROUPS:
        return FlowMap({spec.audience_kind: spec.audience[0]})
    written: dict[str, list[str]] = {"usergroups": [], "channels": [], "users": []}
    plural = {"usergroup": "usergroups", "channel": "channels", "users": "users"}
    for kind, entry in audience_entries(spec.audience_kind, spec.audience):
        written[plural[kind]].append(entry)
    return FlowMap({key: FlowList(ids) for key, ids in written.items() if ids})


def audience_entries(kind: str, audience: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """A stored audience as (kind, id) pairs, kind one of AUDIENCE_KINDS, in file order."""
    if kind == GROUPS:
        pairs = [tuple(entry.split(":", 1)) for entry in audience if ":" in entry]
        return [(k, i) for k, i in pairs if k in AUDIENCE_KINDS and i]
    if kind not in AUDIENCE_KINDS:
        raise ValueError(f"unknown audience kind {kind!r}")
    return [(kind, entry) for entry in audience if entry]


def audience_labels(kind: str, audience: tuple[str, ...] | list[str]) -> list[str]:
    """The audience's groups as results name them: each user group's and channel's id, and
    LISTED_PEOPLE for the people it lists by id (one group), in file order."""
    labels = [LISTED_PEOPLE if k == "users" else i for k, i in audience_entries(kind, audience)]
    return list(dict.fromkeys(labels))


# --- the templates (`jerry surveys init`) -----------------------------------------------------

TEMPLATE_OWNER = "C0PRODOPS"
TEMPLATE_PMS = "S0PRODUCTMANAGERS"
TEMPLATE_REVENUE = "S0REVENUETEAMS"


def templates(lang: str = "en") -> tuple[SurveySpec, ...]:
    """The two surveys Jerry ships with (from the product brief), in `lang` (en or fr).

    A survey speaks one language, so there is one template per language: `jerry surveys init
    --language fr` writes the French one. The ids (owner channel, user groups) are to replace.
    """

    def scale(qid: str) -> QuestionSpec:
        return QuestionSpec(
            qid,
            "scale5",
            t(f"surveys.template.{qid}", lang),
            low=t("surveys.template.low", lang),
            high=t("surveys.template.high", lang),
        )

    common: dict[str, Any] = {
        "owner_channel": TEMPLATE_OWNER,
        "audience_kind": "usergroup",
        "deliver": "dm",
        "timezone": "Europe/Paris",
        "open_for": "3d",
        "remind_before": "1d",
        "anonymous": True,
        "language": lang,
    }
    pm = SurveySpec(
        name="pm-pulse",
        title=t("surveys.template.pm_title", lang),
        audience=(TEMPLATE_PMS,),
        schedule={"hour": "10", "minute": "0", "day_of_week": "mon", "week": "*/2"},
        questions=(
            QuestionSpec("time", "text", t("surveys.template.time", lang)),
            scale("priorities"),
            scale("data"),
            scale("needs"),
        ),
        **common,
    )
    revenue = SurveySpec(
        name="revenue-pulse",
        title=t("surveys.template.revenue_title", lang),
        audience=(TEMPLATE_REVENUE,),
        schedule={"hour": "10", "minute": "0", "day_of_week": "tue", "week": "*/4"},
        questions=(scale("roadmap"), scale("features"), scale("deals")),
        **common,
    )
    return (pm, revenue)


def template_file(lang: str = "en") -> str:
    lines = textwrap.wrap(t("surveys.template.header", lang), 94)
    return dump(templates(lang), header="".join(f"# {line}\n" for line in lines))
