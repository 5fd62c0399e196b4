"""Jira and Linear: linking items to the work, and hearing when it ships (issue 14)."""
