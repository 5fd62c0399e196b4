"""The SQLAlchemy tables, and nothing else: queries live with the capability that uses them
(bot/<capability>/store.py and the like). Alembic migrations make the schema."""

from models.base import Base, utcnow
from models.capture import DmGroup, ReactionFiling
from models.conversation import RelayedMessage
from models.csat import CsatAnswer, CsatAsk
from models.deliveries import Delivery, OutboxAlert
from models.help import HomePreference, HomeWelcome, MessageReply
from models.insights import (
    FileSetting,
    InsightChart,
    InsightReport,
    InsightTheme,
    InsightThemeEdit,
)
from models.items import Item, ItemEvent
from models.reminders import ScheduledJob, SentReminder
from models.routing import Area, LeadWelcome, RoutingRule, Team
from models.similar import SimilarEntry, SimilarState
from models.summaries import SummaryPost, SummarySubscription
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound, SurveySecret
from models.trackers import (
    ItemIssueLink,
    ShippedNotice,
    TrackerIssue,
    TrackerPoll,
    TrackerWebhook,
    UpdateItem,
)
from models.updates import Feed, ProductUpdate
from models.users import SlackUser

__all__ = [
    "Area",
    "Base",
    "CsatAnswer",
    "CsatAsk",
    "Delivery",
    "DmGroup",
    "Feed",
    "FileSetting",
    "HomePreference",
    "HomeWelcome",
    "InsightChart",
    "InsightReport",
    "InsightTheme",
    "InsightThemeEdit",
    "Item",
    "ItemEvent",
    "ItemIssueLink",
    "LeadWelcome",
    "MessageReply",
    "OutboxAlert",
    "ProductUpdate",
    "ReactionFiling",
    "RelayedMessage",
    "RoutingRule",
    "ScheduledJob",
    "SentReminder",
    "ShippedNotice",
    "SimilarEntry",
    "SimilarState",
    "SlackUser",
    "SummaryPost",
    "SummarySubscription",
    "Survey",
    "SurveyAnswer",
    "SurveyInvite",
    "SurveyRound",
    "SurveySecret",
    "Team",
    "TrackerIssue",
    "TrackerPoll",
    "TrackerWebhook",
    "UpdateItem",
    "utcnow",
]
