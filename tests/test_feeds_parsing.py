"""Feed parsing and settings, without a database or a server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.config import Settings
from bot.updates.feeds import FeedError, _rate_limit, html_to_text, parse_github_releases, parse_rss


def test_html_to_text_keeps_lines_and_drops_markup() -> None:
    assert html_to_text("<h2>New</h2><p>A&nbsp;b<br/>c</p><script>x()</script>") == "New\nA b\nc"
    assert html_to_text("") == ""


def test_parse_rss_refuses_what_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_rss(b"<html><body>Hello</body></html>")
    with pytest.raises(FeedError, match="invalid XML"):
        parse_rss(b"\x00\x01 garbage <<<")


def test_feed_settings_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.jerry_github_api_url == "https://api.github.com"
    assert settings.jerry_github_token is None
    assert settings.jerry_feed_minutes == 60
    assert settings.jerry_feed_timeout_seconds == 10


def test_rate_limit_errors_say_when_the_feed_comes_back() -> None:
    now = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    primary = httpx.Headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1772611200"})
    assert _rate_limit(primary, now) == "rate limited by GitHub until 2026-03-04 08:00 UTC"
    secondary = httpx.Headers({"retry-after": "90"})
    assert _rate_limit(secondary, now) == "rate limited by GitHub until 2026-03-04 08:01 UTC"
    assert _rate_limit(httpx.Headers({"x-ratelimit-remaining": "12"}), now) is None


def test_github_error_bodies_are_explained() -> None:
    with pytest.raises(FeedError, match="did not answer with a list of releases: Not Found"):
        parse_github_releases({"message": "Not Found"})
    assert parse_github_releases([{"draft": True, "id": 1}, "junk", {"name": "no id"}]) == []
