"""The core's Tortoise models (app label `core`), one module per concern."""

from core.models.accounts import CustomerClock, StripeAccount, StripeTestClock
from core.models.api_keys import ApiKey, ApiScope
from core.models.auth import RateLimitHit, SignInToken, UserSession
from core.models.email import EmailStatus, OutboundEmail, Suppression
from core.models.events import Event, Job
from core.models.schedules import ScheduleRun
from core.models.workspaces import Invitation, Membership, User, Workspace

__all__ = [
    "ApiKey",
    "ApiScope",
    "CustomerClock",
    "EmailStatus",
    "Event",
    "Invitation",
    "Job",
    "Membership",
    "OutboundEmail",
    "RateLimitHit",
    "ScheduleRun",
    "SignInToken",
    "StripeAccount",
    "StripeTestClock",
    "Suppression",
    "User",
    "UserSession",
    "Workspace",
]
