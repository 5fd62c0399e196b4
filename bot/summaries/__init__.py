"""Weekly product-update summaries: what they say, posting them once a week, downloads."""
