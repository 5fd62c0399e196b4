"""Intake and routing: storing an item from any entry point and deciding whose it is."""
