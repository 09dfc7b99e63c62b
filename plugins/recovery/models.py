"""Recovery's tables (app label `recovery`). Every row belongs to a workspace."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from core.tenancy import TenantModel


class FinalAction(StrEnum):
    CANCEL = "cancel"
    LEAVE_PAST_DUE = "leave_past_due"


class CaseStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    RECOVERED = "recovered"
    LOST = "lost"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"


class AttemptSource(StrEnum):
    STRIPE = "stripe"
    SECONDLOOP = "secondloop"


class CaseKind(StrEnum):
    DUNNING = "dunning"  # a failed invoice being collected
    WINBACK = "winback"  # a subscription ended for non-payment, the customer invited back


class AttemptOutcome(StrEnum):
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    ACTION_REQUIRED = "action_required"


class RecoverySettings(TenantModel):
    """Recovery settings of one workspace. Recovery stays off until the operator turns it on."""

    id = fields.IntField(primary_key=True)
    enabled = fields.BooleanField(default=False)
    processing_paused = fields.BooleanField(default=False)
    final_action = fields.CharEnumField(FinalAction, max_length=20, default=FinalAction.CANCEL)
    expiring_card_lead_days = fields.IntField(default=30)
    sender_name = fields.CharField(max_length=120, default="")
    reply_to = fields.CharField(max_length=254, default="")
    product_description = fields.CharField(max_length=300, default="")
    tone = fields.CharField(max_length=20, default="friendly")
    # The tone per decline category (category to tone), falling back to the tone above.
    tones: Any = fields.JSONField(default=dict)
    winback_enabled = fields.BooleanField(default=True)
    winback_first_hours = fields.IntField(default=1)
    # A Slack incoming webhook URL, encrypted with the core keyring (empty when unset).
    slack_webhook_url_enc = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "recovery_settings"
        unique_together = (("workspace",),)


class Sequence(TenantModel):
    """The sequence a workspace runs for one decline category, pointing at its current version."""

    id = fields.IntField(primary_key=True)
    category = fields.CharField(max_length=20)
    current_version = fields.IntField(default=1)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "recovery_sequence"
        unique_together = (("workspace", "category"),)


class SequenceVersion(TenantModel):
    """An immutable version of a sequence. Steps hold type, delay, template and tone."""

    id = fields.IntField(primary_key=True)
    sequence: fields.ForeignKeyRelation[Sequence] = fields.ForeignKeyField(
        "recovery.Sequence", related_name="versions", on_delete=fields.CASCADE
    )
    sequence_id: int
    version = fields.IntField()
    steps: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "recovery_sequence_version"
        unique_together = (("workspace", "sequence", "version"),)


class Case(TenantModel):
    """One failed invoice being recovered. Stripe retry events update it, never duplicate it."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    # The failed invoice, or for a win-back the ended subscription.
    invoice_id = fields.CharField(max_length=64)
    kind = fields.CharEnumField(CaseKind, max_length=10, default=CaseKind.DUNNING)
    customer_id = fields.CharField(max_length=64, default="")
    customer_email = fields.CharField(max_length=254, default="")
    customer_name = fields.CharField(max_length=200, default="")
    subscription_id = fields.CharField(max_length=64, default="")
    test_clock = fields.CharField(max_length=64, default="")
    amount = fields.IntField(default=0)
    currency = fields.CharField(max_length=3, default="usd")
    code = fields.CharField(max_length=64, default="")
    decline_code = fields.CharField(max_length=64, default="")
    advice_code = fields.CharField(max_length=64, default="")
    outcome = fields.CharField(max_length=64, default="")
    category = fields.CharField(max_length=20, default="other")
    decline_resolved = fields.BooleanField(default=False)
    status = fields.CharEnumField(CaseStatus, max_length=10, default=CaseStatus.OPEN)
    sequence_version: fields.ForeignKeyNullableRelation[SequenceVersion] = fields.ForeignKeyField(
        "recovery.SequenceVersion", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    sequence_version_id: int | None
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_reason = fields.CharField(max_length=64, default="")
    recovered_at = fields.DatetimeField(null=True)
    recovered_amount = fields.IntField(null=True)
    recovered_by_step = fields.CharField(max_length=64, default="")
    time_to_recover = fields.IntField(null=True)
    stripe_retries_active = fields.BooleanField(default=False)
    stripe_next_attempt_at = fields.DatetimeField(null=True)
    retries_suspended = fields.BooleanField(default=False)
    disputed = fields.BooleanField(default=False)
    customer_flagged = fields.BooleanField(default=False)
    # Set when a new payment method arrives: customer emails wait for the immediate retry.
    hold_emails = fields.BooleanField(default=False)
    last_event_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "recovery_case"
        unique_together = (("workspace", "stripe_account_id", "invoice_id"),)
        indexes = (("workspace_id", "status"), ("workspace_id", "customer_id"))


class CaseStep(TenantModel):
    """One scheduled step of a case. The idempotency key makes a re-run harmless."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "recovery.Case", related_name="steps", on_delete=fields.CASCADE
    )
    case_id: int
    index = fields.IntField()
    type = fields.CharField(max_length=64)
    config: Any = fields.JSONField(default=dict)
    due_at = fields.DatetimeField()
    status = fields.CharEnumField(StepStatus, max_length=10, default=StepStatus.PENDING)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    result: Any = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "recovery_case_step"
        unique_together = (("workspace", "case", "index"),)
        indexes = (("workspace_id", "status", "due_at"),)


class AttemptLedger(TenantModel):
    """One payment attempt on an invoice, by Stripe or by SecondLoop, counted once by its key."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    invoice_id = fields.CharField(max_length=64)
    key = fields.CharField(max_length=128)
    source = fields.CharEnumField(AttemptSource, max_length=12)
    at = fields.DatetimeField()
    outcome = fields.CharEnumField(AttemptOutcome, max_length=16)
    code = fields.CharField(max_length=64, default="")
    decline_code = fields.CharField(max_length=64, default="")
    advice_code = fields.CharField(max_length=64, default="")
    charge_id = fields.CharField(max_length=64, default="")
    # The card charged, when Stripe said: network limits and never-retry answers are per card.
    payment_method_id = fields.CharField(max_length=64, default="")

    class Meta:
        table = "recovery_attempt"
        unique_together = (("workspace", "stripe_account_id", "invoice_id", "key"),)
        indexes = (("workspace_id", "stripe_account_id", "invoice_id", "at"),)


class CardAlert(TenantModel):
    """One expiring-card email, unique per customer, card, expiry and stage (days ahead)."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    customer_id = fields.CharField(max_length=64)
    payment_method_id = fields.CharField(max_length=64)
    exp_month = fields.IntField()
    exp_year = fields.IntField()
    stage = fields.IntField()
    email_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "recovery_card_alert"
        unique_together = (
            (
                "workspace",
                "stripe_account_id",
                "customer_id",
                "payment_method_id",
                "exp_year",
                "exp_month",
                "stage",
            ),
        )


class EndedSubscription(TenantModel):
    """A subscription Stripe reported ended, kept so a late failure event opens no case."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    subscription_id = fields.CharField(max_length=64)
    customer_id = fields.CharField(max_length=64, default="")
    reason = fields.CharField(max_length=64, default="")
    ended_at = fields.DatetimeField()

    class Meta:
        table = "recovery_ended_subscription"
        unique_together = (("workspace", "stripe_account_id", "subscription_id"),)


class CardUpdate(TenantModel):
    """A card the network updater renewed, so the expiring-card scan leaves it alone."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    payment_method_id = fields.CharField(max_length=64)
    exp_month = fields.IntField()
    exp_year = fields.IntField()
    at = fields.DatetimeField()

    class Meta:
        table = "recovery_card_update"
        unique_together = (
            ("workspace", "stripe_account_id", "payment_method_id", "exp_year", "exp_month"),
        )


class CustomerDispute(TenantModel):
    """A dispute a customer opened, so a case that opens while it is open starts suspended."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    dispute_id = fields.CharField(max_length=64)
    customer_id = fields.CharField(max_length=64)
    closed = fields.BooleanField(default=False)
    won = fields.BooleanField(default=False)
    at = fields.DatetimeField()

    class Meta:
        table = "recovery_customer_dispute"
        unique_together = (("workspace", "stripe_account_id", "dispute_id"),)
        indexes = (("workspace_id", "stripe_account_id", "customer_id", "closed"),)


class CaseNote(TenantModel):
    """A note an operator wrote on a case, with its author and time."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "recovery.Case", related_name="case_notes", on_delete=fields.CASCADE
    )
    case_id: int
    author_id = fields.IntField(null=True)
    author = fields.CharField(max_length=254, default="")
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "recovery_case_note"
        indexes = (("workspace_id", "case_id", "created_at"),)
