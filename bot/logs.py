"""What Jerry's logs may hold: never a person next to what they wrote.

Anonymous items are stored with their reporter's id, so anything that logs a database row,
a query's parameters, a request body or a Slack call's arguments pairs a user id with a
text. The libraries below do that at DEBUG (Bolt even at INFO), so they are held at WARNING
whatever the root level; `--log-level debug` shows Jerry's own debug lines, which never log
a text. SQLAlchemy also keeps parameters out of its errors (bot/db.py, `hide_parameters`).
"""

from __future__ import annotations

import logging

# aiosqlite logs each call with its SQL and parameters; slack_sdk each request's arguments
# and response; Bolt and Jerry's Bolt logger the request bodies; SQLAlchemy rows and params.
IDENTIFYING_LOGGERS = ("aiosqlite", "slack_sdk", "slack_bolt", "jerry.bolt", "sqlalchemy.engine")


def keep_people_out_of_logs() -> None:
    """Hold the loggers that would pair a person with a text at WARNING."""
    for name in IDENTIFYING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# APScheduler logs every job's start and end at INFO ("Running job …", "… executed
# successfully"): lines per job per tick that say nothing. Its warnings and errors still show.
ROUTINE_LOGGERS = ("apscheduler",)


def quiet_routine_logs() -> None:
    """Hold the libraries that log every routine tick at WARNING."""
    for name in ROUTINE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
