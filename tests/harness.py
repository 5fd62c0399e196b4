"""Fixtures for end-to-end tests (fake Slack server, signed requests, the running app)."""
