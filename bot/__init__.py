"""Jerry: the product-ops facilitator for Slack."""
