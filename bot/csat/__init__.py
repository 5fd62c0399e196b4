"""Did this help? Asking reporters after resolution (issue 15)."""
