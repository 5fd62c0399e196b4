"""SQLAlchemy models and the queries the core uses. Alembic migrations make the schema."""

from models.base import Base, utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Area, RoutingRule, Team
from models.users import SlackUser

__all__ = [
    "Area",
    "Base",
    "Delivery",
    "Item",
    "ItemEvent",
    "RoutingRule",
    "SlackUser",
    "Team",
    "utcnow",
]
