"""Stripe's form encoding: ``a[b][0]=x``, ``metadata[k]=v``, ``expand[]=y`` into nested values.

Values stay strings; handlers coerce them through :class:`Params`, which raises Stripe's
errors (``Invalid integer: abc``) naming the offending parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from sandbox.errors import invalid_request, missing_parameter, unknown_parameter

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")
# Under these keys digit-only names are map keys, not list indexes.
_MAP_KEYS = frozenset({"metadata"})

Value = Any


def _split(key: str) -> list[str]:
    parts: list[str] = []
    for m in _KEY.finditer(key):
        parts.append(m.group(1) if m.group(1) is not None else m.group(2))
    return parts or [key]


def _listify(node: Value, parent: str | None) -> Value:
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v, k) for k, v in node.items()}
    if parent not in _MAP_KEYS and out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Value]:
    root: dict[str, Value] = {}
    for key, value in pairs:
        parts = _split(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return {k: _listify(v, k) for k, v in root.items()}


def parse_query(raw: str) -> dict[str, Value]:
    return parse_pairs(parse_qsl(raw, keep_blank_values=True))


_MISSING = object()


# Aliases: Params has methods named str/int/bool/list, which shadow the builtins
# inside the class body (annotations included).
_Str = str
_Int = int
_Bool = bool
_List = list


class Params:
    """Typed access to a request's parameters with Stripe's validation errors."""

    __slots__ = ("data", "prefix")

    def __init__(self, data: Mapping[_Str, Value], prefix: _Str = "") -> None:
        self.data: dict[_Str, Value] = dict(data)
        self.prefix = prefix

    def _name(self, key: _Str) -> _Str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def __contains__(self, key: _Str) -> _Bool:
        return key in self.data

    def check(self, allowed: Iterable[str]) -> None:
        """Reject parameters the endpoint does not know, as Stripe does."""
        known = set(allowed) | {"expand"}
        for key in self.data:
            if key not in known:
                raise unknown_parameter(self._name(key))

    def raw(self, key: _Str, default: Value = None) -> Value:
        return self.data.get(key, default)

    def str(
        self, key: _Str, default: _Str | None = None, *, required: _Bool = False
    ) -> _Str | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                raise missing_parameter(self._name(key))
            return default
        if not isinstance(value, str):
            raise invalid_request(f"Invalid string: {value!r}", param=self._name(key))
        return value

    def req_str(self, key: _Str) -> _Str:
        value = self.str(key, required=True)
        assert value is not None
        if value == "":
            raise invalid_request(
                f"You passed an empty string for '{self._name(key)}'. We assume empty values "
                "are an attempt to unset a parameter; however '"
                f"{self._name(key)}' cannot be unset. You should remove '{self._name(key)}' "
                "from your request or supply a non-empty value.",
                param=self._name(key),
            )
        return value

    def nullable_str(self, key: _Str) -> _Str | None:
        """An optional string where ``""`` means unset (``None``)."""
        value = self.str(key)
        return value or None

    def int(
        self,
        key: _Str,
        default: _Int | None = None,
        *,
        required: _Bool = False,
        minimum: _Int | None = None,
        maximum: _Int | None = None,
    ) -> _Int | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value == "":
            if required:
                raise missing_parameter(self._name(key))
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid_request(f"Invalid integer: {value}", param=self._name(key)) from None
        if minimum is not None and number < minimum:
            raise invalid_request(
                f"This value must be greater than or equal to {minimum}.", param=self._name(key)
            )
        if maximum is not None and number > maximum:
            raise invalid_request(
                f"This value must be less than or equal to {maximum}.", param=self._name(key)
            )
        return number

    def req_int(self, key: _Str, **kw: Any) -> _Int:
        value = self.int(key, required=True, **kw)
        assert value is not None
        return value

    def bool(self, key: _Str, default: _Bool | None = None) -> _Bool | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value == "":
            return default
        if value in ("true", True):
            return True
        if value in ("false", False):
            return False
        raise invalid_request(f"Invalid boolean: {value}", param=self._name(key))

    def sub(self, key: _Str) -> Params | None:
        """A nested hash parameter (``card[number]``) as its own Params, or None."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value == "":
            return None
        if not isinstance(value, dict):
            raise invalid_request("Invalid object", param=self._name(key))
        return Params(value, self._name(key))

    def list(self, key: _Str) -> _List[Value] | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return None
        if value == "":
            return []
        if isinstance(value, dict) and not value:
            return []
        if not isinstance(value, list):
            raise invalid_request("Invalid array", param=self._name(key))
        return value

    def str_list(self, key: _Str) -> _List[_Str] | None:
        items = self.list(key)
        if items is None:
            return None
        for item in items:
            if not isinstance(item, str):
                raise invalid_request("Invalid array", param=self._name(key))
        return items

    def expand(self) -> _List[_Str]:
        return self.str_list("expand") or []
