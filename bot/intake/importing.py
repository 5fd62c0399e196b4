"""A backlog spreadsheet into Jerry: `jerry items import FILE.csv` (bot/intake/importing_cli.py).

    parsed = parse_file(data, model, lang)                  # every problem, with its line
    await resolve_reporters(parsed.rows, people, lang)      # emails → Slack ids (problems)
    report = await store_rows(session, parsed.rows, model, source="backlog.csv", route=False)

Plain data in and out: the CLI reads the file, asks Slack and prints. The file is CSV with a
header row naming its columns (COLUMNS; `text` is required, any other name is refused), UTF-8
(with or without the BOM Excel writes), separated by commas, or semicolons as French Excel
writes, or tabs. "Line N" is the spreadsheet's row N, the header being row 1 (a cell holding
a line break still counts as one row).

What an imported item is:
- `source` "import", `intake_key` "import:<external_id>": importing the same file again adds
  only the rows not there yet (rows without an external_id are added each time);
- its `created_at` as the file says (else the import's time), so insights over time stay right;
- routed like any item (the area given, else rules and keywords), its events "imported" (file
  and line) and "routed"; indexed for similar items;
- silently by default: its lead gets no DM and no target runs until someone acts on it
  (bot/sla/business_time.py `silently_imported`); with `route`, its lead gets the usual DM
  and the targets count from the import, never from the old `created_at`. Either way
  nothing old goes late at once, and the reporter never gets a receipt (they asked long ago);
- a row naming no reporter is reported by NO_REPORTER, whom nothing is ever sent to.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config_file import USER_ID, is_email
from bot.folding import fold
from bot.i18n import t
from bot.intake.routing import AreaSpec, Decision, RoutingModel, decide
from bot.items.domain import CATEGORIES, IMPORT_SOURCE, NO_REPORTER
from bot.outbox.store import enqueue
from bot.text import escape_plain, has_visible_text
from models.base import utcnow
from models.items import Item, ItemEvent

COLUMNS = ("text", "kind", "area", "reporter", "customer", "created_at", "external_id", "category")
# A pain point's kind (bot/items/domain.py CATEGORIES), as written in English or French.
CATEGORY_WORDS = {
    **{category: category for category in CATEGORIES},
    "feature request": "feature",
    "feature_request": "feature",
    "fonctionnalité": "feature",
    "nouvelle fonctionnalité": "feature",
    "anomalie": "bug",
    "processus": "process",
    "autre": "other",
}
# The file's kinds → Jerry's.
KINDS = {"pain_point": "painpoint", "question": "question"}
DEFAULT_KIND = "pain_point"
KEY_PREFIX = "import:"
MAX_TEXT = 100_000  # as at intake (bot/intake/service.py)
MAX_CUSTOMER = 500  # Item.customer
MAX_EXTERNAL_ID = 200 - len(KEY_PREFIX)  # Item.intake_key
DELIMITERS = (",", ";", "\t")
# Rows inserted, and encoded for similar items, at a time.
BATCH = 1000
# Spreadsheet files that are not CSV, by their first bytes.
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


@dataclass(frozen=True)
class Problem:
    """What is wrong, where: `line` is the spreadsheet's row (the header is 1; 0: the file
    as a whole), `column` the column's name ("" for the row or the file)."""

    line: int
    column: str
    message: str  # in the CLI's language


@dataclass
class Row:
    """A valid row, as it will be stored."""

    line: int
    text: str  # Slack-formatted (escaped): the file's text is plain
    kind: str  # painpoint | question
    area: AreaSpec | None
    reporter: str  # as written: "", a Slack user id or an email
    customer: str | None
    created_at: datetime | None  # UTC
    external_id: str | None
    reporter_id: str = NO_REPORTER  # resolve_reporters sets it
    category: str | None = None

    @property
    def intake_key(self) -> str | None:
        return f"{KEY_PREFIX}{self.external_id}" if self.external_id else None


@dataclass
class ParsedFile:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The file itself cannot be read as a backlog (no row was looked at).
    unreadable: bool = False

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda problem: problem.line)

    def invalid_lines(self) -> set[int]:
        return {problem.line for problem in self.problems}

    def drop_invalid(self) -> None:
        bad = self.invalid_lines()
        self.rows = [row for row in self.rows if row.line not in bad]


@dataclass
class ImportReport:
    imported: int = 0
    already: int = 0  # rows whose external_id was imported before
    # Where the imported items went, in the routing model's order: area (else team) → count.
    routed: Counter[str] = field(default_factory=Counter)
    item_ids: list[int] = field(default_factory=list)
    told_leads: bool = False


# --- reading the file ---------------------------------------------------------------------------


def parse_file(
    data: bytes, model: RoutingModel, lang: str, *, now: datetime | None = None
) -> ParsedFile:
    """Every row of the file checked: the valid ones, and every problem with its line."""
    now = now or utcnow()
    parsed = ParsedFile()
    text = _decode(data, lang, parsed)
    if text is None:
        return parsed
    lines = text.splitlines(keepends=True)
    delimiter = None
    if lines and lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) == 5:
        # Excel's own hint on the first line ("sep=;"): not a row of the sheet.
        delimiter = lines[0].strip()[4]
        text = "".join(lines[1:])
    header_line = text.splitlines()[0] if text.strip() else ""
    if not header_line.strip():
        return _unreadable(parsed, t("cli.items_import.problem.empty", lang))
    delimiter = delimiter or _delimiter(header_line)
    # Strict: a quote never closed is an error, not a cell swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        return _unreadable(parsed, _csv_error(exc, lang), line=1)
    columns = [name.strip().lower() for name in header]
    unknown = [name.strip() for name in header if name.strip().lower() not in COLUMNS]
    if unknown or "text" not in columns:
        if unknown:
            parsed.problems.append(
                Problem(
                    1,
                    "",
                    t(
                        "cli.items_import.problem.unknown_columns",
                        lang,
                        names=", ".join(f"“{name}”" for name in unknown),
                        columns=", ".join(COLUMNS),
                    ),
                )
            )
        if "text" not in columns:
            parsed.problems.append(
                Problem(1, "", t("cli.items_import.problem.no_text_column", lang))
            )
        parsed.unreadable = True
        return parsed
    doubled = sorted({name for name in columns if name and columns.count(name) > 1})
    if doubled:
        message = t("cli.items_import.problem.doubled_columns", lang, names=", ".join(doubled))
        return _unreadable(parsed, message, line=1)
    seen_ids: dict[str, int] = {}
    line = 1
    try:
        for cells in reader:
            line += 1
            row = _row(cells, columns, line, model, lang, now, parsed, seen_ids)
            if row is not None:
                parsed.rows.append(row)
    except csv.Error as exc:
        parsed.problems.append(Problem(line + 1, "", _csv_error(exc, lang)))
        parsed.unreadable = True
    return parsed


def _csv_error(exc: csv.Error, lang: str) -> str:
    if "unexpected end of data" in str(exc):
        return t("cli.items_import.problem.unclosed_quote", lang)
    return t("cli.items_import.problem.not_csv", lang, error=exc)


def _unreadable(parsed: ParsedFile, message: str, *, line: int = 0) -> ParsedFile:
    parsed.problems.append(Problem(line, "", message))
    parsed.unreadable = True
    return parsed


def _decode(data: bytes, lang: str, parsed: ParsedFile) -> str | None:
    if data.startswith(WORKBOOK_MAGIC):
        _unreadable(parsed, t("cli.items_import.problem.workbook", lang))
        return None
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        _unreadable(parsed, t("cli.items_import.problem.not_utf8", lang, line=line))
        return None
    if "\x00" in text:
        _unreadable(parsed, t("cli.items_import.problem.binary", lang))
        return None
    return text


def _delimiter(header: str) -> str:
    """The separator that makes the most known column names of the header (commas when
    none does better)."""

    def known(delimiter: str) -> int:
        names = next(csv.reader([header], delimiter=delimiter), [])
        return sum(name.strip().lower() in COLUMNS for name in names)

    return max(DELIMITERS, key=lambda delimiter: (known(delimiter), delimiter == ","))


def _row(
    cells: list[str],
    columns: list[str],
    line: int,
    model: RoutingModel,
    lang: str,
    now: datetime,
    parsed: ParsedFile,
    seen_ids: dict[str, int],
) -> Row | None:
    if not any(cell.strip() for cell in cells):
        return None  # a blank row (spreadsheets often end with some)
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        message = t(
            "cli.items_import.problem.too_many_cells", lang, cells=len(cells), columns=len(columns)
        )
        parsed.problems.append(Problem(line, "", message))
        return None
    values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(columns)}
    before = len(parsed.problems)

    def problem(column: str, key: str, **params: object) -> None:
        parsed.problems.append(
            Problem(line, column, t(f"cli.items_import.problem.{key}", lang, **params))
        )

    raw_text = values.get("text", "").replace("\x00", "").strip()
    if not has_visible_text(raw_text):
        problem("text", "empty_text")
    elif len(raw_text) > MAX_TEXT:
        problem("text", "long_text", limit=f"{MAX_TEXT:,}")

    kind_value = values.get("kind", "").strip().lower() or DEFAULT_KIND
    kind = KINDS.get(kind_value)
    if kind is None:
        problem("kind", "kind", value=values["kind"].strip(), kinds=", ".join(KINDS))

    area = None
    area_value = values.get("area", "").strip()
    if area_value:
        area = _area(model, area_value)
        if area is None:
            names = ", ".join(a.name for a in model.areas())
            if names:
                problem("area", "area", value=area_value, areas=names)
            else:
                problem("area", "no_areas", value=area_value)

    reporter = values.get("reporter", "").strip()
    if reporter and not (USER_ID.match(reporter) or is_email(reporter)):
        problem("reporter", "reporter", value=reporter)

    customer = values.get("customer", "").replace("\x00", "").strip() or None
    if customer is not None and len(customer) > MAX_CUSTOMER:
        problem("customer", "long_customer", limit=MAX_CUSTOMER)

    created_at = None
    created_value = values.get("created_at", "").strip()
    if created_value:
        created_at = parse_created_at(created_value)
        if created_at is None:
            problem("created_at", "created_at", value=created_value)
        elif created_at > now:
            problem("created_at", "future", value=created_value)

    external_id = values.get("external_id", "").strip() or None
    if external_id is not None:
        if len(external_id) > MAX_EXTERNAL_ID:
            problem("external_id", "long_external_id", limit=MAX_EXTERNAL_ID)
        elif external_id in seen_ids:
            problem(
                "external_id", "doubled_external_id", value=external_id, first=seen_ids[external_id]
            )
        else:
            seen_ids[external_id] = line

    category = None
    category_value = " ".join(values.get("category", "").split()).casefold()
    if category_value:
        category = CATEGORY_WORDS.get(category_value)
        if category is None:
            problem(
                "category",
                "category",
                value=values["category"].strip(),
                categories=", ".join(CATEGORIES),
            )

    if len(parsed.problems) > before or kind is None:
        return None
    return Row(
        line=line,
        text=escape_plain(raw_text),
        kind=kind,
        area=area,
        reporter=reporter,
        customer=customer,
        created_at=created_at,
        external_id=external_id,
        category=category if kind == "painpoint" else None,
    )


def _area(model: RoutingModel, name: str) -> AreaSpec | None:
    """The model's area of that name, case- and accent-insensitively ("facturation" is
    "Facturation", "ios APP" is "iOS app")."""
    wanted = fold(name)
    return next((area for area in model.areas() if fold(area.name) == wanted), None)


def parse_created_at(value: str) -> datetime | None:
    """An ISO 8601 date or date and time, with or without an offset (without: UTC), in UTC;
    None when it is not one."""
    try:
        if len(value) <= 10:  # 2024-03-05: the day's start
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


# --- the reporters, with Slack ------------------------------------------------------------------


@dataclass
class People:
    """How to ask Slack about reporters: `email` (users.lookupByEmail: the id, or None when
    nobody has it), and `user` (users.info: whether Slack knows the id), None not to ask."""

    email: Callable[[str], Awaitable[str | None]] | None
    user: Callable[[str], Awaitable[bool]] | None = None


def needs_slack(rows: Sequence[Row], *, check_ids: bool) -> bool:
    return any(
        is_email(row.reporter) or (check_ids and USER_ID.match(row.reporter)) for row in rows
    )


async def resolve_reporters(parsed: ParsedFile, people: People, lang: str) -> None:
    """Set each valid row's `reporter_id`: the id written, the person Slack finds by the
    email written, or NO_REPORTER when the row names nobody. An email Slack does not know
    (or an id, when `people.user` is given) is a problem of its line. Each distinct
    reporter is asked once; what Slack raises (unreachable, a bad token) is the caller's."""
    emails: dict[str, str | None] = {}
    known: dict[str, bool] = {}
    for row in parsed.rows:
        if not row.reporter:
            row.reporter_id = NO_REPORTER
        elif is_email(row.reporter):
            address = row.reporter.lower()
            if address not in emails:
                emails[address] = await people.email(address) if people.email else None
            found = emails[address]
            if found is None:
                message = t("cli.items_import.problem.unknown_email", lang, value=row.reporter)
                parsed.problems.append(Problem(row.line, "reporter", message))
            else:
                row.reporter_id = found
        else:
            if people.user is not None:
                if row.reporter not in known:
                    known[row.reporter] = await people.user(row.reporter)
                if not known[row.reporter]:
                    message = t("cli.items_import.problem.unknown_user", lang, value=row.reporter)
                    parsed.problems.append(Problem(row.line, "reporter", message))
                    continue
            row.reporter_id = row.reporter


# --- storing ------------------------------------------------------------------------------------


async def store_rows(
    session: AsyncSession,
    rows: Sequence[Row],
    model: RoutingModel,
    *,
    source: str,
    route: bool = False,
    language: str = "en",
    now: datetime | None = None,
) -> ImportReport:
    """Insert the rows not imported before (by external_id), routed, with their events,
    indexed for similar items, in the caller's transaction (the caller commits). `model`
    is the stored routing model (with ids). With `route`, each item's lead is owed the
    usual DM; without, nobody is told anything. `source`: the file's name, for the events."""
    from bot.similar.service import index_items

    now = now or utcnow()
    report = ImportReport(told_leads=route)
    keys = [row.intake_key for row in rows if row.intake_key]
    there: set[str] = set()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        found = await session.execute(select(Item.intake_key).where(Item.intake_key.in_(chunk)))
        there.update(key for key in found.scalars() if key)
    fresh = [row for row in rows if row.intake_key not in there or row.intake_key is None]
    report.already = len(rows) - len(fresh)
    order = {area.name: number for number, area in enumerate(model.areas())}
    for start in range(0, len(fresh), BATCH):
        batch = fresh[start : start + BATCH]
        made = [(row, *_item(row, model, route, language, now)) for row in batch]
        items = [item for _, item, _ in made]
        session.add_all(items)
        await session.flush()  # the items' numbers (INSERT … RETURNING, a batch at a time)
        events: list[dict[str, Any]] = []
        for row, item, decision in made:
            events.append(
                _event(
                    item, "imported", now, file=source, line=row.line, external_id=row.external_id
                )
            )
            events.append(
                _event(
                    item,
                    "routed",
                    now,
                    team=decision.team.name,
                    area=decision.area.name if decision.area else None,
                    step=decision.step,
                    reason=dict(decision.detail),
                    lead=decision.team.lead,
                    silent=not route,
                )
            )
            if route:
                # As at intake: the lead's DM (a digest when many wait), never a receipt.
                enqueue(session, "lead_dm", item=item, recipient=decision.team.lead)
            report.routed[decision.area.name if decision.area else decision.team.name] += 1
            report.item_ids.append(item.id)
        await session.execute(insert(ItemEvent), events)
        await index_items(session, items)
        report.imported += len(items)
    # Busiest first; ties in the routing model's order (teams after their areas).
    report.routed = Counter(
        dict(sorted(report.routed.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)))))
    )
    return report


def _item(
    row: Row, model: RoutingModel, route: bool, language: str, now: datetime
) -> tuple[Item, Decision]:
    decision = decide(model, row.text, chosen_area=row.area.name if row.area else None)
    item = Item(
        kind=row.kind,
        status="open",
        text=row.text,
        reporter_id=row.reporter_id,
        anonymous=False,
        source=IMPORT_SOURCE,
        intake_key=row.intake_key,
        language=language,
        customer=row.customer,
        category=row.category,
        chosen_area_id=decision.area.id
        if decision.area and decision.step == "chosen_area"
        else None,
        team_id=decision.team.id,
        area_id=decision.area.id if decision.area else None,
        assignee_id=decision.team.lead,
        # Told now (--route): the targets count from now. Silent: none runs yet (see
        # bot/sla/business_time.py `silently_imported`).
        assigned_at=now if route else None,
        route_step=decision.step,
        # The area came from the file (`explain` says so), not from the reporter's choice.
        route_detail={**decision.detail, "file": True}
        if decision.step == "chosen_area"
        else dict(decision.detail),
        created_at=row.created_at or now,
        updated_at=now,
    )
    return item, decision


def _event(item: Item, kind: str, at: datetime, **detail: object) -> dict[str, Any]:
    return {"item_id": item.id, "at": at, "actor": "jerry", "kind": kind, "detail": detail}
