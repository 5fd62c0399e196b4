"""Block Kit builders: pure functions, plain data in, Slack dicts out, within Slack's limits."""
