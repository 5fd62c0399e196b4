"""Settings, read from the environment or a `.env` file in the working directory."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///jerry.db"
README_SETTINGS = "README.md, section Settings"


class MissingSettingError(RuntimeError):
    """A setting needed for the command is not set; the message is one line for the user."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        super().__init__(f"{name} is not set: {why}. See {README_SETTINGS}.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_DATABASE_URL
    jerry_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    jerry_language: Literal["en", "fr"] = "en"
    # The first wait before an undelivered message is tried again (it doubles each time).
    jerry_delivery_retry_seconds: float = 30.0
    # The longest the outbox sleeps with nothing due that it knows of: what another process
    # queued (a CLI command, another replica) waits at most this long (None: the retry wait).
    jerry_outbox_poll_seconds: float | None = Field(default=None, gt=0)
    # Owed messages are retried until Slack takes them, waiting at most this long between two
    # attempts; product ops is told once when the oldest has waited this many minutes
    # (0: never), and once more when that is over.
    jerry_outbox_max_backoff_minutes: float = Field(default=15.0, gt=0)
    jerry_outbox_alert_minutes: float = Field(default=30.0, ge=0)
    # A lead with this many item DMs owed at once (a burst, or the backlog after an outage)
    # gets them in one digest DM, each item's card posted when opened (0: never).
    jerry_digest_threshold: int = Field(default=5, ge=0)
    # How many deliveries to different recipients the outbox sends at once (each waits on
    # Slack's round trip; one recipient's messages always go one after the other).
    jerry_outbox_concurrency: int = Field(default=8, ge=1, le=64)
    # How often (seconds) Jerry looks for late items to remind people of; 0 turns it off.
    jerry_reminder_seconds: float = Field(default=60.0, ge=0)
    # How often (seconds) Jerry looks for weekly summaries due; 0 turns it off.
    jerry_summary_check_seconds: float = Field(default=60.0, ge=0)
    # Feeds (GitHub releases, RSS/Atom, JSON Feed): where GitHub's API is, an optional token,
    # how often they are fetched (minutes; 0 turns it off) and how long a fetch may wait.
    jerry_github_api_url: str = "https://api.github.com"
    jerry_github_token: str | None = None
    jerry_feed_minutes: float = Field(default=60.0, ge=0)
    jerry_feed_timeout_seconds: float = Field(default=10.0, gt=0)
    # Pulse surveys: how often (seconds) Jerry looks for rounds to start (0 turns it off). The
    # key of anonymous rounds' hashes is no setting: it is random, in the database
    # (bot/surveys/keys.py).
    jerry_survey_check_seconds: float = Field(default=60.0, ge=0)
    # Similar items (bot/similar): on or off; the score (0 to 1) from which an item is
    # suggested as "the same problem", and from which a past answer is offered at once.
    # Both defaults were measured on the labelled set by bench/similar.py (BENCHMARKS.md).
    jerry_similar: Literal["on", "off"] = "on"
    jerry_similar_suggest_threshold: float = Field(default=0.48, ge=0, le=1)
    jerry_similar_answer_threshold: float = Field(default=0.49, ge=0, le=1)
    # While a new item's reporter may pick a suggested item ("add me to #12"), its lead's DM
    # waits this many minutes at most (0: it never waits; the suggestions are still shown).
    jerry_similar_hold_minutes: float = Field(default=15.0, ge=0)
    # GET /metrics (Prometheus): when set, a scrape must send `Authorization: Bearer <token>`
    # (the endpoint shares the port Slack reaches); unset, it is open to whoever reaches it.
    jerry_metrics_token: str | None = None
    # How often (minutes) the insights' themes are recomputed for this quarter, month and week
    # (bot/insights/themes.py); 0 turns it off (`jerry insights themes --refresh` still works).
    jerry_themes_minutes: float = Field(default=60.0, ge=0)
    # How often (minutes) the App Home's Insights tab is made ready for its readers (this
    # quarter's numbers and charts), so that opening it only publishes; 0 turns it off (the
    # tab then computes on a period's first open, 1 to 2 s with a million items).
    jerry_insights_warm_minutes: float = Field(default=4.0, ge=0)
    # "Did this help?" after an item is resolved (bot/csat): the share of resolved items
    # whose reporter is asked (0 turns it off), and the fewest days between two asks to one
    # person.
    # DMs to Jerry from one person less than this many seconds apart become one item, filed
    # once the person has stopped (bot/capture/grouping.py); 0 files each DM at once.
    jerry_dm_group_seconds: float = Field(default=120.0, ge=0, le=3600)
    # How long an ack waits for Slack to say a first-time person's language (else the
    # default language, for that one answer).
    jerry_language_lookup_seconds: float = Field(default=1.0, gt=0, le=30)
    jerry_csat_share: float = Field(default=0.5, ge=0, le=1)
    jerry_csat_cooldown_days: float = Field(default=14.0, ge=0)
    # Jira Cloud and Linear (bot/trackers): a service account's credentials (never a
    # person's), and the secrets their webhooks sign deliveries with. Without the
    # credentials, "Create issue" and "Link issue" do not show and the webhook endpoint of
    # that tracker answers 404.
    jerry_jira_url: str | None = None  # https://yourcompany.atlassian.net
    jerry_jira_email: str | None = None
    jerry_jira_token: str | None = None
    jerry_jira_webhook_secret: str | None = None
    jerry_linear_api_key: str | None = None
    jerry_linear_webhook_secret: str | None = None
    jerry_linear_api_url: str = "https://api.linear.app/graphql"
    # How often (minutes) linked issues are read again, for changes a webhook did not bring
    # (0 turns it off); and how long one request to a tracker may wait.
    jerry_tracker_poll_minutes: float = Field(default=15.0, ge=0)
    jerry_tracker_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("jerry_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def similar_enabled(self) -> bool:
        return self.jerry_similar == "on"

    @cached_property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    def require_http(self) -> None:
        """What `jerry serve` cannot start without."""
        if not self.slack_bot_token:
            raise MissingSettingError("SLACK_BOT_TOKEN", "Jerry needs its bot token (xoxb-…)")
        if not self.slack_signing_secret:
            raise MissingSettingError(
                "SLACK_SIGNING_SECRET", "Jerry needs it to check that requests come from Slack"
            )

    def require_socket(self) -> None:
        """What `jerry socket` cannot start without."""
        if not self.slack_bot_token:
            raise MissingSettingError("SLACK_BOT_TOKEN", "Jerry needs its bot token (xoxb-…)")
        if not self.slack_app_token:
            raise MissingSettingError(
                "SLACK_APP_TOKEN", "Socket Mode needs an app-level token (xapp-…)"
            )


def async_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite:///…) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url
