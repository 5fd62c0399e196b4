"""Items: the plain cards views render, who may act on an item, and the item queries."""
