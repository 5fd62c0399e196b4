"""Everything Slack is owed: the outbox worker, the purposes' registry and its queries."""
