"""Capture where people already talk: emoji filing (issue 15)."""
