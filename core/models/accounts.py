"""Connected Stripe accounts and the test clocks their customers live on."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from core.tenancy import TenantModel


class ConnectionMode(StrEnum):
    OAUTH = "oauth"
    RESTRICTED_KEY = "restricted_key"


class ConnectionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    # Connect OAuth: the access token stopped working and the refresh token did not help.
    RECONNECT = "reconnect"
    REVOKED = "revoked"


class StripeAccount(TenantModel):
    """One Stripe account connected to a workspace. Secrets are AES-256-GCM ciphertexts."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64, db_index=True)
    display_name = fields.CharField(max_length=200, default="")
    mode = fields.CharEnumField(ConnectionMode, max_length=20)
    status = fields.CharEnumField(ConnectionStatus, max_length=10, default=ConnectionStatus.PENDING)
    livemode = fields.BooleanField(default=False)
    scope = fields.CharField(max_length=20, default="")
    access_token_enc = fields.TextField(null=True)
    refresh_token_enc = fields.TextField(null=True)
    api_key_enc = fields.TextField(null=True)
    webhook_secret_enc = fields.TextField(null=True)
    # The opaque token in /webhooks/stripe/{token}: a hash to look it up, a ciphertext to show it.
    webhook_token_hash = fields.CharField(max_length=64, null=True, unique=True)
    webhook_token_enc = fields.TextField(null=True)
    webhook_endpoint_id = fields.CharField(max_length=64, null=True)
    # After a secret rotation the old secret stays valid until this time, and the endpoint it
    # belongs to (when SecondLoop manages it) is kept until then so its queued retries arrive.
    previous_webhook_secret_enc = fields.TextField(null=True)
    previous_webhook_secret_until = fields.DatetimeField(null=True, db_index=True)
    retiring_webhook_endpoint_id = fields.CharField(max_length=64, null=True)
    # Why the connection needs the operator (status reconnect), safe to show.
    access_error = fields.CharField(max_length=300, default="")
    missing_permissions: list[str] = fields.JSONField(default=list)
    verified_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    signature_failures = fields.IntField(default=0)
    last_signature_failure_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_stripe_account"
        unique_together = (("workspace", "stripe_account_id"),)


class StripeTestClock(TenantModel):
    """The current time of a Stripe test clock, followed from test clock events."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    clock_id = fields.CharField(max_length=64)
    frozen_time = fields.DatetimeField()
    status = fields.CharField(max_length=20, default="ready")
    # The creation time of the newest event applied, so a late older event cannot roll it back.
    last_event_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()  # from the runtime's clock, set by core.events.clocks

    class Meta:
        table = "core_stripe_test_clock"
        unique_together = (("workspace", "stripe_account_id", "clock_id"),)


class CustomerClock(TenantModel):
    """Which test clock a customer lives on, learned from any object carrying both ids."""

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    customer_id = fields.CharField(max_length=64)
    clock_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_customer_clock"
        unique_together = (("workspace", "stripe_account_id", "customer_id"),)
