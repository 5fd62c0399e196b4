"""SQLAlchemy models and the queries the core uses. Alembic migrations make the schema."""

from models.base import Base, utcnow
from models.conversation import RelayedMessage
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.reminders import ScheduledJob, SentReminder
from models.routing import Area, RoutingRule, Team
from models.users import SlackUser

__all__ = [
    "Area",
    "Base",
    "Delivery",
    "Item",
    "ItemEvent",
    "RelayedMessage",
    "RoutingRule",
    "ScheduledJob",
    "SentReminder",
    "SlackUser",
    "Team",
    "utcnow",
]
