"""The JSON Schema of an audit run and its results, for the OpenAPI document.

Every figure docs/audit.md documents is named here with its type, so an integration can read
the headline figures from the schema alone; a test holds a finished run's results to it,
key for key, so a renamed or added figure cannot slip past the document.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

INT: Schema = {"type": "integer"}
STR: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "integer", "description": "unix seconds"}
MONEY: Schema = {
    "type": "object",
    "description": "Integer amounts in the currency's minor unit, per currency: "
    '{"usd": 12900, "eur": 3500}',
    "additionalProperties": INT,
}


def obj(description: str = "", /, **properties: Schema) -> Schema:
    """An object with exactly these keys, all present."""
    schema: Schema = {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def nullable(schema: Schema) -> Schema:
    return {**schema, "type": [schema["type"], "null"]}


def counted(what: str = "amount") -> Schema:
    return obj(count=INT, **{what: MONEY})


def map_of(value: Schema, description: str) -> Schema:
    return {"type": "object", "description": description, "additionalProperties": value}


FAILED_INVOICE_ROW = obj(
    id=STR,
    created=TIME,
    customer=nullable(STR),
    subscription=nullable(STR),
    currency=STR,
    amount_due=INT,
    amount_remaining=INT,
    status=STR,
    attempt_count=INT,
    decline_code=STR,
    category=STR,
    fate={"type": "string", "enum": ["paid_later", "open", "uncollectible", "void"]},
    recovered_by={"type": ["string", "null"], "enum": ["retries", "customer", None]},
    retry_scheduled=BOOL,
)
FAILED_INVOICES = obj(
    "Invoices of the window whose payment failed at least once, and what became of them",
    count=INT,
    amount=MONEY,
    by_category=map_of(counted(), "per decline category (plugins/audit/declines.tsv)"),
    by_decline_code=map_of(INT, "failed invoices per first decline code"),
    by_fate=obj(**{fate: counted() for fate in ("paid_later", "open", "uncollectible", "void")}),
    recovered_by_retries=counted(),
    recovered_by_customer=counted(),
    in_retry=counted(),
    lost=counted(),
    recoverable=counted(),
    mrr_exposed=MONEY,
    subscriptions_exposed=INT,
    max_attempt_count=INT,
    invoices={"type": "array", "items": FAILED_INVOICE_ROW},
)
EXPIRING_CARDS = obj(
    "Cards behind live subscriptions expiring in the reference month and the 5 after",
    months={"type": "array", "items": obj(month=STR, count=INT, mrr=MONEY)},
    count=INT,
    revenue_at_risk=MONEY,
    peak_month=nullable(STR),
    peak_count=INT,
    expired_not_refreshed=counted("mrr"),
    without_card=INT,
    advisory=nullable(STR),
)
DISPUTES = obj(
    "Open disputes, their evidence deadlines, and the record of the window",
    open=counted(),
    needs_response=INT,
    nearest_deadlines={
        "type": "array",
        "items": obj(id=STR, due_by=TIME, amount=INT, currency=STR, reason=nullable(STR)),
    },
    period=obj(count=INT, won=INT, lost=INT, open=INT, amount=MONEY),
    win_rate=nullable({"type": "number"}),
)
HEALTH = obj(
    "MRR, subscription states, involuntary churn and setup findings",
    mrr=MONEY,
    subscriptions=map_of(INT, "subscriptions per status"),
    active=counted("mrr"),
    trialing=counted("mrr"),
    past_due=counted("mrr"),
    unpaid=counted("mrr"),
    involuntary_churn=counted("mrr"),
    customers=INT,
    customers_without_email=INT,
    past_due_without_retry=INT,
    send_invoice_subscriptions=INT,
    retries=obj(
        inferred={"type": "string", "enum": ["on", "short", "off", "unknown"]},
        max_attempt_count=INT,
        open_with_retry_scheduled=INT,
    ),
    findings={
        "type": "array",
        "items": obj(code=STR, severity=STR, count=INT, message=STR),
    },
)
RESULTS = obj(
    "The diagnostic's figures (docs/audit.md, Results); null until the run is done",
    version=INT,
    reference_time=TIME,
    since=TIME,
    lookback_days=INT,
    test_clocks={"type": "array", "items": STR},
    test_clocks_readable=BOOL,
    objects_read=map_of(INT, "records kept per list"),
    invoices_in_period=INT,
    calls=INT,
    summary={"type": "array", "items": STR},
    failed_invoices=FAILED_INVOICES,
    expiring_cards=EXPIRING_CARDS,
    disputes=DISPUTES,
    health=HEALTH,
)
PROGRESS_ROW: Schema = {
    "type": "object",
    "required": ["pages", "objects", "done"],
    "properties": {
        "pages": INT,
        "objects": INT,
        "lists": INT,
        "lists_done": INT,
        "done": BOOL,
    },
    "additionalProperties": False,
}
_RUN_FIELDS: dict[str, Schema] = {
    "id": INT,
    "object": {"type": "string", "const": "audit_run"},
    "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
    "stripe_account": STR,
    "trigger": {"type": "string", "enum": ["manual", "api", "scheduled"]},
    "lookback_days": INT,
    "progress": map_of(PROGRESS_ROW, "per kind of list (clocks, customers, invoices, ...)"),
    "calls": INT,
    "error": nullable(STR),
    "created_at": {"type": "string", "format": "date-time"},
    "started_at": {"type": ["string", "null"], "format": "date-time"},
    "finished_at": {"type": ["string", "null"], "format": "date-time"},
}
RUN = obj("An audit run with its results", **_RUN_FIELDS, results=nullable(RESULTS))
RUN_SUMMARY = obj("An audit run, without its results (fetch the run for them)", **_RUN_FIELDS)
RUN_LIST = obj(
    "A page of runs, newest first",
    object={"type": "string", "const": "list"},
    data={"type": "array", "items": RUN_SUMMARY},
    has_more=BOOL,
)
