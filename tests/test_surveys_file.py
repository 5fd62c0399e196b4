"""The surveys file: every problem with its line, the schedule forms, round trips, templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.surveys.cli import export_file, import_file, init_file
from bot.surveys.file import (
    SurveysFileError,
    audience_entries,
    audience_labels,
    describe_schedule,
    dump,
    parse,
    parse_duration,
    template_file,
    templates,
    trigger_of,
)

GOOD = """\
surveys:
  - name: pm-pulse
    title: Product manager pulse
    owner_channel: C0PRODOPS
    audience: {usergroup: S0PMS}
    deliver: dm
    schedule: {every: 2 weeks, day: monday, time: "10:00"}
    timezone: Europe/Paris
    open_for: 3d
    remind_before: 1d
    anonymous: true
    language: en
    questions:
      - {id: priorities, kind: scale5, text: "Do they know?", low: "Not at all", high: "Completely"}
      - {id: nps, kind: scale10, text: "Would you recommend?"}
      - {id: focus, kind: choice, text: "Focus?", options: [Discovery, Delivery, Support]}
      - {id: time, kind: text, text: "Where does your time go?"}
  - name: sales
    title: Sales pulse
    owner_channel: C0PRODOPS
    audience: {users: [U0ANN, U0BOB]}
    deliver: C0SALES
    schedule: {cron: "30 9 * * 1-5"}
    questions:
      - {id: q1, kind: scale5, text: "Roadmap?"}
"""


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(SurveysFileError) as info:
        parse(text)
    return [(p.line, p.field, p.message) for p in info.value.errors]


def test_a_good_file() -> None:
    pm, sales = parse(GOOD)
    assert (pm.name, pm.audience_kind, pm.audience, pm.deliver) == (
        "pm-pulse",
        "usergroup",
        ("S0PMS",),
        "dm",
    )
    assert pm.schedule == {"hour": "10", "minute": "0", "day_of_week": "mon", "week": "*/2"}
    assert (pm.timezone, pm.open_for, pm.remind_before, pm.anonymous) == (
        "Europe/Paris",
        "3d",
        "1d",
        True,
    )
    assert [q.kind for q in pm.questions] == ["scale5", "scale10", "choice", "text"]
    assert pm.questions[0].low == "Not at all" and pm.questions[2].options == (
        "Discovery",
        "Delivery",
        "Support",
    )
    assert (sales.audience_kind, sales.audience, sales.deliver) == (
        "users",
        ("U0ANN", "U0BOB"),
        "C0SALES",
    )
    # crontab's 1-5 is Monday to Friday (APScheduler alone would read 0 as Monday)
    assert sales.schedule["day_of_week"] == "mon-fri"
    assert (sales.timezone, sales.open_for, sales.anonymous, sales.language) == (
        "UTC",
        "3d",
        False,
        "en",
    )


def test_every_problem_with_its_line() -> None:
    text = """\
surveys:
  - name: pm
    title: T
    owner_channel: general
    audience: {usergroup: [S0PMS, S0B], users: [U0A]}
    schedule: {every: 3 months, time: "25:00"}
    timezone: Mars/Olympus
    open_for: forever
    remind_before: 5d
    anonymous: maybe
    language: de
    colour: blue
    questions:
      - {id: q1, kind: scale7, text: "?"}
      - {id: q1, kind: text, text: "again", options: [a]}
      - {id: "bad id", kind: choice, text: "one option", options: [only]}
  - name: PM
    title: T
    owner_channel: C0X
    audience: {channel: C0X}
    schedule: {cron: "0 10 * *"}
    questions: []
"""
    found = problems(text)
    lines = {(line, field) for line, field, _ in found}
    assert (4, "surveys[0].owner_channel") in lines
    assert (5, "surveys[0].audience.usergroup") in lines
    assert (6, "surveys[0].schedule.every") in lines
    assert (6, "surveys[0].schedule.time") in lines
    assert (7, "surveys[0].timezone") in lines
    assert (8, "surveys[0].open_for") in lines
    assert (10, "surveys[0].anonymous") in lines
    assert (11, "surveys[0].language") in lines
    assert (12, "surveys[0].colour") in lines
    assert (14, "surveys[0].questions[0].kind") in lines
    assert (15, "surveys[0].questions[1].id") in lines
    assert (15, "surveys[0].questions[1].options") in lines
    assert (16, "surveys[0].questions[2].id") in lines
    assert (16, "surveys[0].questions[2].options") in lines
    assert (17, "surveys[1].name") in lines  # PM = pm, case-insensitively
    assert (21, "surveys[1].schedule.cron") in lines
    assert (22, "surveys[1].questions") in lines
    assert [line for line, _, _ in found] == sorted(line for line, _, _ in found)
    with pytest.raises(SurveysFileError) as info:
        parse(text, source="x.yml")
    assert "x.yml:7: surveys[0].timezone: “Mars/Olympus” is not a time zone" in str(info.value)


def test_reminder_must_come_before_closing_and_yaml_errors_have_lines() -> None:
    text = GOOD.replace("remind_before: 1d", "remind_before: 3d")
    assert problems(text) == [
        (10, "surveys[0].remind_before", "must be shorter than open_for (3d), and not zero")
    ]
    assert problems("surveys:\n  - name: [\n")[0][0] in (2, 3)
    assert parse("") == ()


def test_round_trip() -> None:
    specs = parse(GOOD)
    assert parse(dump(specs)) == specs
    assert describe_schedule(specs[0].schedule) == {
        "every": "2 weeks",
        "day": "monday",
        "time": "10:00",
    }
    assert describe_schedule(specs[1].schedule) == {"cron": "30 9 * * mon-fri"}
    daily = parse(
        GOOD.replace('{every: 2 weeks, day: monday, time: "10:00"}', '{every: day, time: "08:30"}')
    )
    assert describe_schedule(daily[0].schedule) == {"every": "day", "time": "08:30"}
    assert parse(dump(daily)) == daily


def test_schedules_run_in_the_survey_timezone() -> None:
    pm = parse(GOOD)[0]
    trigger = trigger_of(pm.schedule, pm.timezone)
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    # ISO week 3 of 2026 (odd weeks), Monday 10:00 in Paris = 09:00 UTC in winter
    assert first.astimezone(UTC) == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    later = trigger.get_next_fire_time(None, datetime(2026, 6, 1, tzinfo=UTC))
    assert later.astimezone(UTC) == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # summer, week 23
    assert parse_duration("1d12h").total_seconds() == 36 * 3600
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_templates_parse_and_hold_the_brief_questions(lang: str) -> None:
    specs = parse(template_file(lang))
    assert specs == templates(lang)
    assert [s.name for s in specs] == ["pm-pulse", "revenue-pulse"]
    pm, revenue = specs
    assert [q.kind for q in pm.questions] == ["text", "scale5", "scale5", "scale5"]
    assert [q.kind for q in revenue.questions] == ["scale5", "scale5", "scale5"]
    assert all(s.language == lang and s.anonymous for s in specs)
    if lang == "en":
        assert "six months" in pm.questions[0].text
        assert "priorities and roadmap" in pm.questions[1].text
        assert "high-priority deals and renewals" in revenue.questions[2].text
    else:
        assert "six mois" in pm.questions[0].text


async def test_init_import_export_through_the_cli_bodies(settings, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "surveys.yml"
    assert await init_file(path, language="fr") == 0
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert await import_file(settings, path, dry_run=True, now=now) == 0
    assert "would import" in capsys.readouterr().out
    out = tmp_path / "out.yml"
    assert await export_file(settings, out) == 0
    assert parse(out.read_text()) == ()  # the dry run changed nothing
    assert await import_file(settings, path, now=now) == 0
    assert "2 added" in capsys.readouterr().out
    assert await export_file(settings, out) == 0
    assert parse(out.read_text()) == parse(path.read_text())
    # a new file without revenue-pulse archives it; an invalid one changes nothing
    path.write_text(dump(parse(path.read_text())[:1]), encoding="utf-8")
    assert await import_file(settings, path, now=now) == 0
    assert "1 archived" in capsys.readouterr().out
    bad = tmp_path / "bad.yml"
    bad.write_text("surveys:\n  - name: x\n", encoding="utf-8")
    assert await import_file(settings, bad, now=now) == 1
    err = capsys.readouterr().err
    assert "bad.yml:2: surveys[0].title: is required" in err
    assert await export_file(settings, out) == 0
    assert [s.name for s in parse(out.read_text())] == ["pm-pulse"]


def test_an_anonymous_survey_answered_in_a_channel_is_refused_with_its_name_and_line() -> None:
    # Answers in a channel thread are public: anonymity would be a promise Jerry cannot keep.
    text = GOOD.replace("    deliver: dm\n", "    deliver: C0PMTEAM\n", 1)
    assert problems(text) == [
        (
            11,
            "surveys[0].anonymous",
            "the survey “pm-pulse” is anonymous but delivered in C0PMTEAM, where everyone sees "
            "who answered what: use `deliver: dm`, or `anonymous: false`",
        )
    ]
    with pytest.raises(SurveysFileError) as info:
        parse(text, source="surveys.yml")
    assert "surveys.yml:11: surveys[0].anonymous: the survey “pm-pulse” is anonymous" in str(
        info.value
    )
    # the same survey by DM, or not anonymous in the channel, is fine
    parse(GOOD)
    parse(text.replace("anonymous: true", "anonymous: false", 1))


def _with_audience(audience: str) -> str:
    return GOOD.replace("audience: {usergroup: S0PMS}", f"audience: {audience}", 1)


def test_an_audience_of_several_user_groups_channels_and_people() -> None:
    text = _with_audience(
        "{usergroups: [S0PMS, S0LEADS, S0PMS], channels: [C0REVENUE], users: [U0ANN]}"
    )
    pm, _sales = parse(text)
    assert pm.audience_kind == "groups"
    # each id once, in file order; people listed by id are one group of the breakdown
    assert pm.audience == (
        "usergroup:S0PMS",
        "usergroup:S0LEADS",
        "channel:C0REVENUE",
        "users:U0ANN",
    )
    assert audience_entries(pm.audience_kind, pm.audience) == [
        ("usergroup", "S0PMS"), ("usergroup", "S0LEADS"), ("channel", "C0REVENUE"), ("users", "U0ANN"),
    ]  # fmt: skip
    assert audience_labels(pm.audience_kind, pm.audience) == [
        "S0PMS",
        "S0LEADS",
        "C0REVENUE",
        "users",
    ]
    # written back in the same form, and read again the same
    written = dump((pm,))
    assert (
        "audience: {usergroups: [S0PMS, S0LEADS], channels: [C0REVENUE], users: [U0ANN]}" in written
    )
    assert parse(written) == (pm,)


def test_the_single_forms_stay_as_they_were() -> None:
    pm, sales = parse(GOOD)
    assert (pm.audience_kind, pm.audience) == ("usergroup", ("S0PMS",))
    assert (sales.audience_kind, sales.audience) == ("users", ("U0ANN", "U0BOB"))
    (channel, _) = parse(_with_audience("{channel: C0PMTEAM}"))
    assert (channel.audience_kind, channel.audience) == ("channel", ("C0PMTEAM",))
    # the plural keys with one id are the single form; a user group and a channel are two groups
    (one, _) = parse(_with_audience("{usergroups: [S0PMS]}"))
    assert (one.audience_kind, one.audience) == ("usergroup", ("S0PMS",))
    (two, _) = parse(_with_audience("{usergroup: S0PMS, channel: C0REVENUE}"))
    assert (two.audience_kind, two.audience) == ("groups", ("usergroup:S0PMS", "channel:C0REVENUE"))
    assert "audience: {usergroup: S0PMS}" in dump((pm,))
    assert "audience: {users: [U0ANN, U0BOB]}" in dump((sales,))


@pytest.mark.parametrize(
    ("audience", "field", "message"),
    [
        ("{}", "surveys[0].audience", "needs `usergroup: S…`"),
        ("{usergroup: [S0PMS, S0B]}", "surveys[0].audience.usergroup", "write `usergroups: [ … ]`"),
        ("{channel: [C0A, C0B]}", "surveys[0].audience.channel", "write `channels: [ … ]`"),
        ("{usergroup: S0PMS, usergroups: [S0B]}", "surveys[0].audience", "not both"),
        ("{usergroups: []}", "surveys[0].audience.usergroups", "a list of Slack usergroup ids"),
        ("{usergroups: [S0PMS, pms]}", "surveys[0].audience.usergroups[1]", "a user group id"),
        ("{channels: [C0A, general]}", "surveys[0].audience.channels[1]", "a Slack channel id"),
        ("{usergroups: [S0PMS], users: [bob]}", "surveys[0].audience.users[0]", "a Slack user id"),
        ("{usergroups: [S0PMS], teams: [T0A]}", "surveys[0].audience.teams", ""),
        (
            "{usergroups: [" + ", ".join(f"S0G{n:02d}" for n in range(21)) + "]}",
            "surveys[0].audience",
            "more than 20 user groups and channels",
        ),
    ],
)
def test_audience_problems_have_their_field_and_line(
    audience: str, field: str, message: str
) -> None:
    found = problems(_with_audience(audience))
    assert [(line, f) for line, f, _ in found] == [(5, field)], found
    assert message in found[0][2]


TRANSLATED = """\
surveys:
  - name: pulse
    title: Pulse
    owner_channel: C0PRODOPS
    audience: {users: [U0PM1]}
    schedule: {every: day, time: "10:00"}
    language: en
    questions:
      - id: roadmap
        kind: scale5
        text: {en: "Do you see the roadmap?", fr: "Voyez-vous la feuille de route ?"}
        low: {en: Not at all, fr: Pas du tout}
        high: Completely
      - {id: why, kind: text, text: "Why?"}
"""


def test_a_question_may_be_translated_and_round_trips() -> None:
    [spec] = parse(TRANSLATED)
    roadmap, why = spec.questions
    assert roadmap.text == "Do you see the roadmap?"  # the survey's language: results use it
    assert roadmap.low == "Not at all" and roadmap.high == "Completely"
    assert roadmap.translations == {
        "fr": {"text": "Voyez-vous la feuille de route ?", "low": "Pas du tout"}
    }
    assert roadmap.as_json()["translations"] == roadmap.translations
    assert why.translations == {} and "translations" not in why.as_json()
    assert parse(dump([spec])) == (spec,)


def test_a_translation_must_include_the_surveys_language_and_known_ones() -> None:
    broken = TRANSLATED.replace(
        '{en: "Do you see the roadmap?", fr: "Voyez-vous la feuille de route ?"}',
        '{fr: "Voyez-vous ?", de: "Sehen Sie?"}',
    )
    with pytest.raises(SurveysFileError) as raised:
        parse(broken)
    fields = {problem.field for problem in raised.value.errors}
    assert "surveys[0].questions[0].text.de" in fields
    assert "surveys[0].questions[0].text.en" in fields
