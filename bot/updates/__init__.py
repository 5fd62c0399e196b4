"""Product updates (/shipped, /upcoming) and the feeds that bring them in."""
