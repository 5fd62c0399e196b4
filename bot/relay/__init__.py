"""The relay between reporter and lead: lead actions, resolution, the conversation."""
