"""Queries about the routing model: load it, replace it with an imported one, look things up.

Teams and areas are never deleted (items point at them): an import archives the ones the
new file no longer names and brings back archived ones it names again, matching names
case-insensitively, so a team or an area keeps its id across imports. Rules are replaced.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.domain import SAVING_KINDS
from bot.insights.file_settings import (
    CAPTURE,
    MINUTES_SAVED,
    read_file_setting,
    write_file_setting,
)
from bot.intake.routing import AreaSpec, EmojiSpec, RoutingModel, RuleSpec, TeamSpec
from bot.intake.routing_file import is_email
from bot.items.domain import TRIAGE_TEAM_NAME
from models.routing import Area, RoutingRule, Team


@dataclass(frozen=True)
class ReplaceSummary:
    teams_added: int = 0
    teams_updated: int = 0
    teams_archived: int = 0
    areas_added: int = 0
    areas_updated: int = 0
    areas_archived: int = 0
    rules: int = 0

    def __str__(self) -> str:
        return (
            f"teams: {self.teams_added} added, {self.teams_updated} updated, "
            f"{self.teams_archived} archived; "
            f"areas: {self.areas_added} added, {self.areas_updated} updated, "
            f"{self.areas_archived} archived; "
            f"rules: {self.rules}"
        )


def _key(name: str) -> str:
    return name.strip().casefold()


# --- loading ----------------------------------------------------------------------------------


async def load_routing_model(session: AsyncSession) -> RoutingModel | None:
    """The current model (archived teams and areas left out), or None if none was imported."""
    triage_row = (
        (await session.execute(select(Team).where(Team.is_triage.is_(True)).order_by(Team.id)))
        .scalars()
        .first()
    )
    if triage_row is None:
        return None
    team_rows = (
        (
            await session.execute(
                select(Team)
                .where(Team.is_triage.is_(False), Team.archived.is_(False))
                .order_by(Team.position, Team.id)
            )
        )
        .scalars()
        .all()
    )
    area_rows = (
        (
            await session.execute(
                select(Area).where(Area.archived.is_(False)).order_by(Area.position, Area.id)
            )
        )
        .scalars()
        .all()
    )
    rule_rows = (
        (await session.execute(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))
        .scalars()
        .all()
    )
    team_names = {row.id: row.name for row in team_rows}
    team_names[triage_row.id] = TRIAGE_TEAM_NAME
    areas_of: dict[int, list[AreaSpec]] = {}
    area_names: dict[int, str] = {}
    for area_row in area_rows:
        if area_row.team_id not in team_names or area_row.team_id == triage_row.id:
            continue
        area_names[area_row.id] = area_row.name
        areas_of.setdefault(area_row.team_id, []).append(
            AreaSpec(
                name=area_row.name,
                keywords=tuple(area_row.keywords or ()),
                team=team_names[area_row.team_id],
                id=area_row.id,
            )
        )
    rules: list[RuleSpec] = []
    for rule_row in rule_rows:
        if rule_row.area_id is not None:
            if rule_row.area_id not in area_names:
                continue
            target = {"area": area_names[rule_row.area_id]}
        elif rule_row.team_id is not None and rule_row.team_id in team_names:
            target = {"team": team_names[rule_row.team_id]}
        else:
            continue
        rules.append(
            RuleSpec(
                name=rule_row.name, channel=rule_row.channel, pattern=rule_row.pattern, **target
            )
        )
    minutes = await read_file_setting(session, MINUTES_SAVED)
    capture = await read_file_setting(session, CAPTURE)
    return RoutingModel(
        triage=_team_spec(triage_row, ()),
        teams=tuple(_team_spec(row, tuple(areas_of.get(row.id, ()))) for row in team_rows),
        rules=tuple(rules),
        minutes_saved=tuple((kind, int(minutes[kind])) for kind in SAVING_KINDS if kind in minutes)
        if minutes
        else None,
        capture_emoji=tuple(EmojiSpec(**emoji) for emoji in capture["emoji"]) if capture else None,
    )


def _team_spec(row: Team, areas: tuple[AreaSpec, ...]) -> TeamSpec:
    return TeamSpec(
        name=TRIAGE_TEAM_NAME if row.is_triage else row.name,
        lead=row.lead,
        backup=None if row.is_triage else row.backup,
        channel=row.channel,
        areas=areas,
        lead_email=row.lead_email,
        backup_email=None if row.is_triage else row.backup_email,
        is_triage=row.is_triage,
        id=row.id,
        ack_target=row.ack_target,
        answer_target=row.answer_target,
        business_days=row.business_days,
        business_start=row.business_start,
        business_end=row.business_end,
        jira_project=row.jira_project,
        linear_team=row.linear_team,
        issue_type=row.issue_type,
    )


# --- replacing --------------------------------------------------------------------------------


def check_model(model: RoutingModel) -> None:
    """Refuse a model the database cannot hold, before anything is written."""
    problems: list[str] = []
    teams = (model.triage, *model.teams)
    for team in teams:
        for field in ("lead", "backup"):
            value = getattr(team, field)
            if value and is_email(value):
                problems.append(f"{team.name}: the {field} {value} is an email, not resolved")
    team_keys = [_key(team.name) for team in model.teams]
    if _key(TRIAGE_TEAM_NAME) in team_keys:
        problems.append(f"a team is named {TRIAGE_TEAM_NAME}, which is reserved")
    if len(set(team_keys)) != len(team_keys):
        problems.append("two teams have the same name")
    area_keys = [_key(area.name) for area in model.areas()]
    if len(set(area_keys)) != len(area_keys):
        problems.append("two areas have the same name")
    for rule in model.rules:
        if (rule.team is None) == (rule.area is None):
            problems.append(f"rule {rule.name!r} needs exactly one of team and area")
        elif rule.team is not None and model.team(rule.team) is None:
            problems.append(f"rule {rule.name!r} names no known team")
        elif rule.area is not None and model.area(rule.area) is None:
            problems.append(f"rule {rule.name!r} names no known area")
    if problems:
        raise ValueError("cannot store this routing model: " + "; ".join(problems))


async def replace_routing_model(session: AsyncSession, model: RoutingModel) -> ReplaceSummary:
    """Make `model` the routing model, in the caller's transaction (the caller commits).

    The model is checked before anything is written. Should a statement fail half-way, the
    caller's transaction must be rolled back (a session closed without commit is), which
    leaves the previous model as it was.
    """
    check_model(model)
    # The `insights:` section: replaced whole (absent, the defaults apply).
    await write_file_setting(
        session, MINUTES_SAVED, dict(model.minutes_saved) if model.minutes_saved else None
    )
    # The `capture:` section (bot/capture): absent, :ticket: files pain points.
    await write_file_setting(
        session,
        CAPTURE,
        {"emoji": [asdict(emoji) for emoji in model.capture_emoji]}
        if model.capture_emoji
        else None,
    )
    counts = dict.fromkeys(
        ("teams_added", "teams_updated", "teams_archived", "areas_added", "areas_updated"), 0
    )
    counts["areas_archived"] = 0

    all_teams = list((await session.execute(select(Team).order_by(Team.id))).scalars())
    triage_row = next((row for row in all_teams if row.is_triage), None)
    by_name: dict[str, Team] = {}
    for team_row in all_teams:
        if not team_row.is_triage:
            by_name.setdefault(_key(team_row.name), team_row)

    # Teams: triage first (position 0), then the file's teams in order.
    team_rows: dict[str, Team] = {}
    wanted: list[tuple[TeamSpec, Team | None]] = [(model.triage, triage_row)]
    wanted += [(spec, by_name.get(_key(spec.name))) for spec in model.teams]
    for position, (spec, row) in enumerate(wanted):
        values: dict[str, object] = {
            "name": TRIAGE_TEAM_NAME if spec is model.triage else spec.name,
            "lead": spec.lead,
            "lead_email": spec.lead_email,
            "backup": None if spec is model.triage else spec.backup,
            "backup_email": None if spec is model.triage else spec.backup_email,
            "channel": spec.channel,
            "position": position,
            "is_triage": spec is model.triage,
            "archived": False,
            "ack_target": spec.ack_target,
            "answer_target": spec.answer_target,
            "business_days": spec.business_days,
            "business_start": spec.business_start,
            "business_end": spec.business_end,
            "jira_project": spec.jira_project,
            "linear_team": spec.linear_team,
            "issue_type": spec.issue_type,
        }
        if row is None:
            row = Team(**values)
            session.add(row)
            counts["teams_added"] += 1
        elif _assign(row, values):
            counts["teams_updated"] += 1
        team_rows[_key(spec.name) if spec is not model.triage else ""] = row
    kept = {id(row) for row in team_rows.values()}
    for row in all_teams:
        if id(row) not in kept and not row.archived:
            row.archived = True
            counts["teams_archived"] += 1
    await session.flush()  # new teams get their ids

    # Areas: upserted by name across the whole file (an area may move to another team).
    all_areas = list((await session.execute(select(Area).order_by(Area.id))).scalars())
    areas_by_name: dict[str, Area] = {}
    for known_area in all_areas:
        areas_by_name.setdefault(_key(known_area.name), known_area)
    area_rows: dict[str, Area] = {}
    for position, area in enumerate(model.areas()):
        team_row = team_rows[_key(area.team)]
        values = {
            "name": area.name,
            "keywords": list(area.keywords),
            "position": position,
            "archived": False,
        }
        area_row = areas_by_name.get(_key(area.name))
        if area_row is None:
            area_row = Area(**values, team=team_row)
            session.add(area_row)
            counts["areas_added"] += 1
        else:
            changed = _assign(area_row, values)
            if area_row.team_id != team_row.id:
                area_row.team = team_row  # keeps both teams' `areas` lists right in memory
                changed = True
            if changed:
                counts["areas_updated"] += 1
        area_rows[_key(area.name)] = area_row
    kept = {id(row) for row in area_rows.values()}
    for area_row in all_areas:
        if id(area_row) not in kept and not area_row.archived:
            area_row.archived = True
            counts["areas_archived"] += 1
    await session.flush()  # new areas get their ids

    # Rules: replaced as a whole.
    await session.execute(delete(RoutingRule))
    for position, rule in enumerate(model.rules):
        session.add(
            RoutingRule(
                position=position,
                name=rule.name,
                channel=rule.channel,
                pattern=rule.pattern,
                team_id=None if rule.team is None else _team_for_rule(team_rows, rule.team).id,
                area_id=None if rule.area is None else area_rows[_key(rule.area)].id,
            )
        )
    await session.flush()
    return ReplaceSummary(**counts, rules=len(model.rules))


def _team_for_rule(team_rows: dict[str, Team], name: str) -> Team:
    key = _key(name)
    return team_rows[""] if key == _key(TRIAGE_TEAM_NAME) else team_rows[key]


def _assign(row: Team | Area, values: dict[str, object]) -> bool:
    """Set the values that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


# --- lookups ----------------------------------------------------------------------------------


async def list_area_choices(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(area id, area name, team name) of every current area, in file order."""
    rows = await session.execute(
        select(Area.id, Area.name, Team.name)
        .join(Team, Area.team_id == Team.id)
        .where(Area.archived.is_(False), Team.archived.is_(False))
        .order_by(Area.position, Area.id)
    )
    return [(area_id, area_name, team_name) for area_id, area_name, team_name in rows]


async def get_team(session: AsyncSession, team_id: int) -> Team | None:
    """A team by id, archived or not (items keep pointing at archived teams)."""
    return await session.get(Team, team_id)


async def team_by_name(
    session: AsyncSession, name: str, *, include_archived: bool = False
) -> Team | None:
    """A team by name, case-insensitively (`Triage` gives the triage team)."""
    key = _key(name)
    statement = select(Team).order_by(Team.archived, Team.id)
    if not include_archived:
        statement = statement.where(Team.archived.is_(False))
    for row in (await session.execute(statement)).scalars():
        if (row.is_triage and key == _key(TRIAGE_TEAM_NAME)) or _key(row.name) == key:
            return row
    return None


async def area_by_name(
    session: AsyncSession, name: str, *, include_archived: bool = False
) -> Area | None:
    """An area by name, case-insensitively."""
    key = _key(name)
    statement = select(Area).order_by(Area.archived, Area.id)
    if not include_archived:
        statement = statement.where(Area.archived.is_(False))
    for row in (await session.execute(statement)).scalars():
        if _key(row.name) == key:
            return row
    return None


class RoutingModelCache:
    """The routing model, kept in memory for the intake path (Slack is waiting for its ack).

    Reloaded when older than `ttl` seconds, so an import made by `jerry routing import` in
    another process reaches every running bot within that time; while no model exists yet,
    the database is asked every time (the first import must take effect at once).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._model: RoutingModel | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self) -> RoutingModel | None:
        if self._model is not None and time.monotonic() - self._loaded_at < self.ttl:
            return self._model
        async with self._lock:  # one reload at a time, however many requests wait
            if self._model is None or time.monotonic() - self._loaded_at >= self.ttl:
                async with self.sessions() as session:
                    self._model = await load_routing_model(session)
                self._loaded_at = time.monotonic()
            return self._model
