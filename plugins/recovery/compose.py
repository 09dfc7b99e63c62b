"""Recovery emails: the variables, the operator-editable templates, and the text and HTML parts.

Operators edit a step's subject and body as Jinja templates rendered in a sandbox that allows
only what an email needs: variables, `if` blocks, comparisons and a few string filters. No
loops, calls, attribute access or arithmetic, so a hostile template can neither reach Python
objects nor make a huge message. The built-in wording (`copy.py`, in `{name}` format style) is
shown to the operator converted to the same syntax, so there is one way to write a template.

The HTML part is made from the text (escaped paragraphs, the update link as a button), so the
operator edits one body and both parts always say the same thing.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from core.runtime import Runtime
from plugins.recovery.copy import TEMPLATES, Copy, format_amount
from plugins.recovery.links import make_link
from plugins.recovery.models import Case, CaseStep, RecoverySettings, StepStatus

SUBJECT_MAX = 200
BODY_MAX = 10_000
DEFAULT_TEMPLATE = "payment_failed"


@dataclass(frozen=True)
class Tone:
    key: str
    label: str
    greeting: str  # followed by the customer's name
    anonymous: str  # the greeting when the name is unknown
    closing: str


TONES: dict[str, Tone] = {
    t.key: t
    for t in (
        Tone("friendly", "Friendly", "Hi", "Hi there", "Thanks,"),
        Tone("formal", "Formal", "Dear", "Dear customer", "Kind regards,"),
        Tone("direct", "Direct", "Hello", "Hello", "Regards,"),
    )
}
DEFAULT_TONE = "friendly"

# What a template may use, with what it means (shown in the editor).
VARIABLES: dict[str, str] = {
    "customer_name": "the customer's name (or a neutral word when unknown)",
    "amount": "the amount due, with its currency",
    "product": "your product, from the brand settings",
    "link": "the customer's own link to update the card or confirm the payment",
    "days_left": "days until the final action",
    "sender": "the sender name from the brand settings",
    "greeting": "the tone's greeting with the customer's name",
    "closing": "the tone's sign-off",
}
_FILTERS = frozenset({"default", "d", "upper", "lower", "title", "capitalize", "trim"})
_TESTS = frozenset({"defined", "undefined", "none", "number", "string"})
_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.CondExpr,
    nodes.Concat,
)
# How a refused construct is named to the operator.
_NAMES = {
    "For": "loops",
    "Call": "function calls",
    "Getattr": "attribute access",
    "Getitem": "indexing",
    "Assign": "assignments",
    "Macro": "macros",
    "Include": "includes",
    "Import": "imports",
    "FromImport": "imports",
    "Extends": "template inheritance",
    "Block": "blocks",
    "Add": "arithmetic",
    "Sub": "arithmetic",
    "Mul": "arithmetic",
    "Div": "arithmetic",
    "FloorDiv": "arithmetic",
    "Mod": "arithmetic",
    "Pow": "arithmetic",
}
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


class TemplateProblem(ValueError):
    """A template an operator wrote that cannot be used; the message says why, plainly."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _to_jinja(source: str) -> str:
    return re.sub(r"\{(\w+)\}", r"{{ \1 }}", source)


def default_wording(template: str) -> tuple[str, str]:
    """A built-in template's subject and body in the editor's syntax, with tone variables."""
    copy: Copy = TEMPLATES.get(template) or TEMPLATES[DEFAULT_TEMPLATE]
    body = re.sub(r"^Hi \{customer_name\},", "{greeting},", copy.text)
    body = re.sub(r"\nThanks,\n\{sender\}\s*$", "\n{closing}\n{sender}", body)
    return _to_jinja(copy.subject), _to_jinja(body)


def sources(config: dict[str, Any]) -> tuple[str, str]:
    """The subject and body a step sends: its own edited text, else its template's wording."""
    subject, body = default_wording(str(config.get("template") or DEFAULT_TEMPLATE))
    return str(config.get("subject") or subject), str(config.get("body") or body)


def check(source: str, what: str, limit: int) -> None:
    """Refuse a template that is too long, malformed, or uses more than the sandbox allows."""
    if len(source) > limit:
        raise TemplateProblem(
            f"{what} is too long ({len(source):,} characters, at most {limit:,})."
        )
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{what}, line {exc.lineno}: {exc.message}.") from None
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _NODES):
            kind = type(node).__name__
            name = _NAMES.get(kind, kind.lower())
            raise TemplateProblem(
                f"{what} uses {name}; templates may only use variables, if-blocks and filters."
            )
        if isinstance(node, nodes.Name) and node.name not in VARIABLES:
            known = ", ".join(VARIABLES)
            raise TemplateProblem(
                f"{what} uses an unknown variable {node.name!r} (known: {known})."
            )
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise TemplateProblem(f"{what} uses the filter {node.name!r}, which is not allowed.")
        if isinstance(node, nodes.Test) and node.name not in _TESTS:
            raise TemplateProblem(f"{what} uses the test {node.name!r}, which is not allowed.")
    try:
        _ENV.from_string(source).render(sample_values())
    except (SecurityError, TemplateError, TypeError, ValueError) as exc:
        raise TemplateProblem(f"{what} cannot be rendered: {exc}.") from None


def values(
    *,
    customer_name: str,
    amount: int,
    currency: str,
    product: str,
    link: str,
    days_left: int,
    sender: str,
    tone: str,
) -> dict[str, Any]:
    """The variables of one email."""
    chosen = TONES.get(tone) or TONES[DEFAULT_TONE]
    name = customer_name.strip()
    return {
        "customer_name": name or "there",
        "amount": format_amount(amount, currency),
        "product": product or "your subscription",
        "link": link,
        "days_left": days_left,
        "sender": sender or "The team",
        "greeting": f"{chosen.greeting} {name}" if name else chosen.anonymous,
        "closing": chosen.closing,
    }


def sample_values(
    product: str = "", sender: str = "", tone: str = DEFAULT_TONE, link: str = ""
) -> dict[str, Any]:
    """Made-up variables for previews and validation."""
    return values(
        customer_name="Ada Lovelace",
        amount=2900,
        currency="usd",
        product=product,
        link=link or "https://example.com/r/preview",
        days_left=14,
        sender=sender,
        tone=tone,
    )


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """A template compiled once: compiling costs far more than rendering (bench/recovery_tick)."""
    return _ENV.from_string(source)


def render(
    subject: str, body: str, variables: dict[str, Any], button: str = "Update your payment details"
) -> Rendered:
    """Fill both templates; the subject is one line, the HTML part is made from the text."""
    subject_out = " ".join(_compiled(subject).render(variables).split())
    text = _compiled(body).render(variables).strip() + "\n"
    html = to_html(text, str(variables.get("link") or ""), button)
    return Rendered(subject_out[:SUBJECT_MAX], text, html)


def button_for(category: str) -> str:
    """The HTML button's words: authentication declines confirm, a win-back restarts the
    subscription, the rest update the card."""
    if category == "winback":
        return "Restart your subscription"
    return "Confirm your payment" if category == "authentication" else "Update your payment details"


def to_html(text: str, link: str, button: str = "Update your payment details") -> str:
    """Escaped paragraphs; the customer's link becomes a button, other text stays text."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if link and paragraph.strip() == link:
            href = html_lib.escape(link, quote=True)
            parts.append(
                f'<p><a href="{href}" style="display:inline-block;padding:10px 18px;'
                'background:#1d5fd6;color:#ffffff;border-radius:6px;text-decoration:none">'
                f"{html_lib.escape(button)}</a></p>"
                f'<p style="font-size:12px;color:#575d66">Or paste this link: {href}</p>'
            )
            continue
        escaped = html_lib.escape(paragraph)
        if link:
            escaped = escaped.replace(
                html_lib.escape(link),
                f'<a href="{html_lib.escape(link, quote=True)}">{html_lib.escape(link)}</a>',
            )
        parts.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(parts)
    return (
        '<!doctype html>\n<html><body style="font-family:sans-serif;line-height:1.5;'
        f'max-width:36rem">\n{body}\n</body></html>\n'
    )


def tone_for(settings: Any, category: str, config: dict[str, Any]) -> str:
    """A step's own tone, else its category's (brand settings), else the workspace's."""
    tones = getattr(settings, "tones", None) or {}
    chosen = str(config.get("tone") or tones.get(category) or settings.tone or DEFAULT_TONE)
    return chosen if chosen in TONES else DEFAULT_TONE


async def days_left(case_id: int, now: datetime) -> int:
    """Whole days until the case's pending final action (0 when there is none)."""
    final = await CaseStep.filter(
        case_id=case_id, type="final_action", status=StepStatus.PENDING
    ).first()
    return max((final.due_at - now).days, 0) if final is not None else 0


async def for_step(
    runtime: Runtime,
    case: Case,
    step: CaseStep,
    settings: RecoverySettings,
    now: datetime,
    config: dict[str, Any] | None = None,
) -> Rendered:
    """The email a step sends (or would send now), with the case's real variables.

    `config` stands in for the step's own (a preview of an edit not saved yet)."""
    config = step.config if config is None else config
    variables = values(
        customer_name=case.customer_name,
        amount=case.amount,
        currency=case.currency,
        product=settings.product_description,
        link=make_link(runtime.settings, case.workspace_id, case.id, step.id),
        days_left=await days_left(case.id, now),
        sender=settings.sender_name,
        tone=tone_for(settings, case.category, config),
    )
    subject, body = sources(config)
    return render(subject, body, variables, button_for(case.category))
