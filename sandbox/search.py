"""Stripe's Search Query Language, the subset SecondLoop uses.

``email:'a@b.c' AND metadata['plan']:'pro' AND created>1700000000``; also ``~`` (substring,
3+ characters), ``-`` negation, ``OR`` (not mixed with ``AND``), ``<``, ``<=``, ``>=``,
and ``field:null``. Results are newest first with an opaque ``page`` cursor.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sandbox.errors import invalid_request, missing_parameter

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]
Getter = Callable[[Obj], Any]
Predicate = Callable[[Obj], bool]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<conj>AND|OR)\b
  | (?P<neg>-)?(?P<field>metadata\[(?:'[^']*'|"[^"]*")\]|[a-z_][a-z0-9_.]*)
    \s*(?P<op>>=|<=|:|~|>|<)\s*
    (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|null)
)""",
    re.VERBOSE,
)


def _error(message: str) -> Exception:
    return invalid_request(message, param="query")


def field_getter(path: str) -> Getter:
    parts = path.split(".")

    def get(obj: Obj) -> Any:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        if isinstance(value, dict) and "id" in value:
            return value["id"]
        return value

    return get


def _metadata_getter(key: str) -> Getter:
    return lambda obj: (obj.get("metadata") or {}).get(key)


def _clause(getter: Getter, op: str, raw: str, negate: bool) -> Predicate:
    if raw == "null":
        target: Any = None
    elif raw[0] in "'\"":
        target = raw[1:-1].replace("\\" + raw[0], raw[0])
    else:
        target = float(raw) if "." in raw else int(raw)
    if op == "~" and (not isinstance(target, str) or len(target) < 3):
        raise _error("The substring operator `~` requires a value of at least 3 characters.")

    def test(obj: Obj) -> bool:
        value = getter(obj)
        if op == ":":
            if target is None:
                result = value is None
            elif isinstance(target, str):
                result = isinstance(value, str) and value.lower() == target.lower()
            else:
                result = value == target
        elif op == "~":
            result = isinstance(value, str) and str(target).lower() in value.lower()
        else:
            if not isinstance(value, (int, float)) or isinstance(target, str) or target is None:
                return False
            result = {
                ">": value > target,
                "<": value < target,
                ">=": value >= target,
                "<=": value <= target,
            }[op]
        return not result if negate else result

    return test


def compile_query(query: str, fields: Mapping[str, Getter], resource: str) -> Predicate:
    clauses: list[Predicate] = []
    conjunctions: set[str] = set()
    pos = 0
    expect_clause = True
    while pos < len(query):
        if not query[pos:].strip():
            break
        m = _TOKEN.match(query, pos)
        if m is None:
            raise _error(f"Invalid search query: unexpected input at position {pos}.")
        pos = m.end()
        if m.group("conj"):
            if expect_clause:
                raise _error("Invalid search query: a conjunction needs a clause before it.")
            conjunctions.add(m.group("conj"))
            expect_clause = True
            continue
        if not expect_clause:
            raise _error("Invalid search query: clauses must be joined with AND or OR.")
        expect_clause = False
        name = m.group("field")
        if name.startswith("metadata["):
            getter: Getter = _metadata_getter(name[10:-2])
        elif name in fields:
            getter = fields[name]
        else:
            raise _error(
                f"Field `{name}` is an unsupported search field for resource `{resource}`. "
                f"See https://stripe.com/docs/search#query-fields-for-{resource} for a list of "
                "supported fields."
            )
        clauses.append(_clause(getter, m.group("op"), m.group("value"), bool(m.group("neg"))))
    if not clauses or expect_clause:
        raise _error("Invalid search query: the query is empty or ends with a conjunction.")
    if len(conjunctions) > 1:
        raise _error("Invalid search query: combining AND and OR is not supported.")
    if conjunctions == {"OR"}:
        return lambda obj: any(c(obj) for c in clauses)
    return lambda obj: all(c(obj) for c in clauses)


def _encode_page(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode()).decode().rstrip("=")


def _decode_page(page: str) -> str:
    try:
        return base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)).decode()
    except ValueError:
        raise invalid_request("Invalid page token.", param="page") from None


def search_response(
    ctx: Ctx, object_type: str, url: str, fields: Mapping[str, Getter], resource: str
) -> Obj:
    """Body of a ``/v1/<resource>/search`` endpoint (a ``search_result``)."""
    params = ctx.params
    query = params.str("query")
    if query is None:
        raise missing_parameter("query")
    limit = params.int("limit", 10, minimum=1, maximum=100)
    assert limit is not None
    predicate = compile_query(query, fields, resource)
    index = ctx.store.index_for(object_type)
    keys = index.keys
    start = len(keys)
    page = params.nullable_str("page")
    if page:
        entry = ctx.store.entries.get(_decode_page(page))
        if entry is None:
            raise invalid_request("Invalid page token.", param="page")
        start = bisect_left(keys, entry.key)
    data: list[Obj] = []
    i = start - 1
    while i >= 0 and len(data) <= limit:
        obj = ctx.store.objects[keys[i][2]]
        if predicate(obj):
            data.append(obj)
        i -= 1
    has_more = len(data) > limit
    data = data[:limit]
    return {
        "object": "search_result",
        "data": data,
        "has_more": has_more,
        "next_page": _encode_page(data[-1]["id"]) if has_more else None,
        "url": url,
    }
