"""First contact: the help card everywhere, short direct messages, the App Home welcome."""
