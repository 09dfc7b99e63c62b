"""Check a JSON Stripe object against the stripe SDK's generated type annotations.

The SDK's resource classes are generated from Stripe's OpenAPI spec at the pinned API
version, so their annotations are a machine-readable contract: which fields exist, which
are nullable (``Optional``), which literal values an enum field allows. The sandbox is
only trustworthy if every object it serves honours that contract; :func:`check_object`
returns the violations as readable strings with JSON paths (``$.lines.data[0].period``).

Conventions of the generated code that the checker relies on:

- ``Optional[X]`` means *nullable or sometimes absent*; a non-Optional field must be present.
- ``ExpandableField[T]`` is ``Union[str, T]``: an id, or the expanded object.
- ``UntypedStripeObject[T]`` is a free-form map (metadata) whose values are ``T``.
- ``ListObject[T]`` / ``SearchResultObject[T]`` are hand-written in the SDK, not generated;
  they are checked by their wire shape (``object``, ``data``, ``has_more``, ``url`` ...).
"""

from __future__ import annotations

import ast
import datetime
import decimal
import functools
import importlib
import inspect
import sys
import types
import typing
from typing import Any, Literal, Union

from stripe._error_object import ErrorObject
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._search_result_object import SearchResultObject
from stripe._stripe_object import StripeObject, UntypedStripeObject

__all__ = ["ConformanceError", "check_error_body", "check_object", "class_for_object"]

_NONE = type(None)
# Fields the hand-written list classes may carry on the wire besides their annotations.
_LIST_FIELDS = {"object", "data", "has_more", "url", "total_count"}
_SEARCH_FIELDS = {"object", "data", "has_more", "url", "next_page", "total_count"}


class ConformanceError(AssertionError):
    """Raised by :func:`assert_conforms` with every violation in the message."""


def class_for_object(object_name: str) -> type[StripeObject] | None:
    """The SDK class for a wire ``object`` name (``"invoice"`` -> ``stripe.Invoice``)."""
    entry = OBJECT_CLASSES.get(object_name)
    if entry is None:
        return None
    module_name, class_name = entry
    cls = getattr(importlib.import_module(module_name), class_name)
    return typing.cast("type[StripeObject]", cls)


@functools.cache
def _module_namespace(module_name: str) -> dict[str, Any]:
    """The module's globals plus the names it imports only under ``TYPE_CHECKING``.

    The generated modules quote their cross-references (``ListObject["InvoiceLineItem"]``)
    and import the targets only for type checkers, so ``get_type_hints`` needs those
    imports replayed. Parameter classes (``stripe.params``) are skipped: only method
    signatures use them, never field annotations.
    """
    module = sys.modules[module_name]
    namespace = dict(vars(module))
    source_file = getattr(module, "__file__", None)
    if not source_file:
        return namespace
    with open(source_file, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module and ".params" not in stmt.module:
                imported = importlib.import_module(stmt.module)
                for alias in stmt.names:
                    namespace[alias.asname or alias.name] = getattr(imported, alias.name)
    return namespace


@functools.cache
def _fields(cls: type) -> dict[str, Any]:
    """Declared wire fields of an SDK class (ClassVars and private names excluded)."""
    raw: dict[str, tuple[Any, str]] = {}
    # Walk the MRO ourselves: get_type_hints would resolve every base class's annotations
    # against one namespace, and the SDK's base classes declare no wire fields anyway.
    for klass in reversed(cls.__mro__):
        if klass is StripeObject or not issubclass(klass, StripeObject):
            continue
        for name, hint in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or typing.get_origin(hint) is typing.ClassVar:
                continue
            raw[name] = (hint, klass.__module__)
    hints: dict[str, Any] = {}
    for name, (hint, module_name) in raw.items():
        holder = types.SimpleNamespace(__annotations__={name: hint})
        resolved = typing.get_type_hints(holder, globalns=_module_namespace(module_name))
        hints[name] = resolved[name]
    return hints


def _is_optional(hint: Any) -> bool:
    return _is_union(hint) and _NONE in typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return origin is Union or origin is types.UnionType


def _describe(hint: Any) -> str:
    text = repr(hint)
    return text.replace("typing.", "").replace("typing_extensions.", "")


class _Checker:
    """Accumulates violations while walking one value against one annotation."""

    def __init__(self, strict_extra: bool, strict_enums: bool) -> None:
        self.strict_extra = strict_extra
        self.strict_enums = strict_enums
        self.errors: list[str] = []

    # --- dispatch on the annotation -------------------------------------------------

    def value(self, path: str, value: Any, hint: Any) -> None:
        if hint is Any:
            self._maybe_nested_resource(path, value)
            return
        if hint is _NONE:
            if value is not None:
                self.errors.append(f"{path}: expected null, got {_short(value)}")
            return
        origin = typing.get_origin(hint)
        if _is_union(hint):
            self._union(path, value, hint)
        elif origin is Literal:
            allowed = typing.get_args(hint)
            if value not in allowed or isinstance(value, bool) != any(
                isinstance(a, bool) for a in allowed
            ):
                shown = ", ".join(repr(a) for a in allowed[:8]) + (
                    ", ..." if len(allowed) > 8 else ""
                )
                self.errors.append(f"{path}: {_short(value)} is not one of [{shown}]")
        elif origin is list:
            self._list(path, value, typing.get_args(hint)[0])
        elif origin is dict:
            self._dict(path, value, typing.get_args(hint)[1])
        elif origin is not None and inspect.isclass(origin):
            self._generic_class(path, value, origin, typing.get_args(hint))
        elif inspect.isclass(hint) and issubclass(hint, StripeObject):
            self.stripe_object(path, value, hint)
        else:
            self._scalar(path, value, hint)

    def _union(self, path: str, value: Any, hint: Any) -> None:
        branches = [b for b in typing.get_args(hint) if b is not _NONE]
        if self.strict_enums and _is_open_enum(branches):
            # ``Union[Literal[...], str]`` is the SDK's forward compatibility for enums that
            # may grow; the sandbox must still only send values that exist today.
            branches = [b for b in branches if b is not str]
        if value is None:
            if _NONE not in typing.get_args(hint):
                self.errors.append(f"{path}: null is not allowed ({_describe(hint)})")
            return
        # An expanded object names its own class: check against that branch alone.
        if isinstance(value, dict) and isinstance(value.get("object"), str):
            named = [b for b in branches if getattr(b, "OBJECT_NAME", None) == value["object"]]
            if named:
                branches = named
        attempts: list[list[str]] = []
        for branch in branches:
            trial = _Checker(self.strict_extra, self.strict_enums)
            trial.value(path, value, branch)
            if not trial.errors:
                return
            attempts.append(trial.errors)
        # Report the branch that came closest: fewest violations.
        best = min(attempts, key=len)
        if len(branches) > 1 and all(len(a) == 1 and ": expected" in a[0] for a in attempts):
            self.errors.append(f"{path}: {_short(value)} does not match {_describe(hint)}")
        else:
            self.errors.extend(best)

    def _list(self, path: str, value: Any, item_hint: Any) -> None:
        if not isinstance(value, list):
            self.errors.append(f"{path}: expected a list, got {_short(value)}")
            return
        for index, item in enumerate(value):
            self.value(f"{path}[{index}]", item, item_hint)

    def _dict(self, path: str, value: Any, value_hint: Any) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{path}: expected an object, got {_short(value)}")
            return
        for key, item in value.items():
            self.value(f"{path}.{key}", item, value_hint)

    def _generic_class(self, path: str, value: Any, origin: type, args: tuple[Any, ...]) -> None:
        if issubclass(origin, UntypedStripeObject):
            if isinstance(value, dict) and class_for_object(str(value.get("object"))):
                # Event data.object is untyped in the SDK but is a full resource on the wire.
                self.resource(path, value)
            else:
                self._dict(path, value, args[0] if args else Any)
        elif issubclass(origin, SearchResultObject):
            self.list_object(path, value, args[0], "search_result", _SEARCH_FIELDS)
        elif issubclass(origin, ListObject):
            self.list_object(path, value, args[0], "list", _LIST_FIELDS)
        elif issubclass(origin, StripeObject):
            self.stripe_object(path, value, origin)
        else:
            self._scalar(path, value, origin)

    def _scalar(self, path: str, value: Any, hint: Any) -> None:
        ok: bool
        if hint is bool:
            ok = isinstance(value, bool)
        elif hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif hint is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif hint is str:
            ok = isinstance(value, str)
        elif hint is decimal.Decimal:
            # decimal_string fields travel as JSON strings (the SDK's to_dict() gives Decimal).
            ok = isinstance(value, decimal.Decimal) or (
                isinstance(value, str) and _parses_decimal(value)
            )
        elif hint in (datetime.datetime, datetime.date):
            ok = isinstance(value, (str, int))
        elif hint is dict:
            ok = isinstance(value, dict)
        elif hint is object:
            ok = True
        else:
            self.errors.append(f"{path}: checker cannot handle annotation {_describe(hint)}")
            return
        if not ok:
            self.errors.append(f"{path}: expected {_describe(hint)}, got {_short(value)}")

    # --- objects --------------------------------------------------------------------

    def stripe_object(self, path: str, value: Any, cls: type) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{path}: expected {cls.__qualname__} object, got {_short(value)}")
            return
        if cls is StripeObject:
            return  # an untyped object: nothing is declared, so nothing to check
        fields = _fields(cls)
        deleted_stub = value.get("deleted") is True and "deleted" in fields
        for name, hint in fields.items():
            if name in value:
                self.value(f"{path}.{name}", value[name], hint)
            elif not _is_optional(hint) and not (deleted_stub and name not in ("id", "object")):
                self.errors.append(f"{path}.{name}: required by {cls.__qualname__} but missing")
        if self.strict_extra:
            for name in value:
                if name not in fields:
                    self.errors.append(f"{path}.{name}: not declared by {cls.__qualname__}")

    def list_object(
        self, path: str, value: Any, item_hint: Any, object_name: str, allowed: set[str]
    ) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{path}: expected a {object_name} object, got {_short(value)}")
            return
        if value.get("object") != object_name:
            self.errors.append(
                f"{path}.object: expected {object_name!r}, got {value.get('object')!r}"
            )
        required = ("data", "has_more", "url") if object_name == "list" else ("data", "has_more")
        for name in required:
            if name not in value:
                self.errors.append(f"{path}.{name}: required by {object_name} but missing")
        if "has_more" in value:
            self._scalar(f"{path}.has_more", value["has_more"], bool)
        if "url" in value:
            self.value(f"{path}.url", value["url"], str | None if object_name != "list" else str)
        if "next_page" in value:
            self.value(f"{path}.next_page", value["next_page"], str | None)
        if "data" in value:
            self._list(f"{path}.data", value["data"], item_hint)
        if self.strict_extra:
            for name in value:
                if name not in allowed:
                    self.errors.append(f"{path}.{name}: not declared by {object_name}")

    def _maybe_nested_resource(self, path: str, value: Any) -> None:
        """An ``Any`` slot holding a typed Stripe object (event ``data.object``) is checked too."""
        if isinstance(value, dict) and isinstance(value.get("object"), str):
            self.resource(path, value)

    def resource(self, path: str, value: dict[str, Any]) -> None:
        object_name = value.get("object")
        if object_name == "list":
            self.list_object(path, value, Any, "list", _LIST_FIELDS)
            return
        if object_name == "search_result":
            self.list_object(path, value, Any, "search_result", _SEARCH_FIELDS)
            return
        cls = class_for_object(object_name) if isinstance(object_name, str) else None
        if cls is None:
            self.errors.append(f"{path}.object: unknown object type {object_name!r}")
            return
        self.stripe_object(path, value, cls)


def _is_open_enum(branches: list[Any]) -> bool:
    return str in branches and any(typing.get_origin(b) is Literal for b in branches)


def _parses_decimal(text: str) -> bool:
    try:
        decimal.Decimal(text)
    except decimal.InvalidOperation:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_object(
    value: Any,
    cls: type | None = None,
    *,
    strict_extra: bool = True,
    strict_enums: bool = True,
    path: str = "$",
) -> list[str]:
    """Violations of the SDK's annotations in ``value``; an empty list means it conforms.

    The class comes from the ``object`` field unless given. Lists and search results are
    checked item by item against the classes their items name. ``strict_extra`` reports
    fields the SDK does not declare; ``strict_enums`` holds open enums
    (``Union[Literal[...], str]``) to their listed values.
    """
    checker = _Checker(strict_extra, strict_enums)
    if cls is not None:
        checker.stripe_object(path, value, cls)
    elif isinstance(value, dict):
        checker.resource(path, value)  # list items are checked against the class they name
    else:
        checker.errors.append(f"{path}: expected a Stripe object, got {_short(value)}")
    return checker.errors


def check_error_body(body: Any, *, strict_extra: bool = True) -> list[str]:
    """Violations in an error response body ``{"error": {...}}``."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return [f"$: an error body is exactly {{'error': {{...}}}}, got {_short(body)}"]
    return check_object(body["error"], ErrorObject, strict_extra=strict_extra, path="$.error")


def assert_conforms(value: Any, cls: type | None = None) -> None:
    """Raise :class:`ConformanceError` listing every violation, if there are any."""
    errors = check_object(value, cls)
    if errors:
        raise ConformanceError("\n".join(errors))
