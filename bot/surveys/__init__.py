"""Pulse surveys: rounds, answers in the thread, reminders and results."""
