"""Nothing waits silently: business time, reminders and escalations, and the timings."""
