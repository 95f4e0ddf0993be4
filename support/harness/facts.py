"""Typed facts: frozen dataclasses built from a name and a mapping of facts, the way the client's events
(``support.drivers.events``) and the services' journal entries (``support.services.records``) become typed.

A ``Kinds`` registry maps each name to its class (or classes, when one name stands for different facts, told
apart by a fact such as ``component`` or by which service wrote it). ``Kinds.build`` makes the object:

- a fact the mapping leaves out takes the field's default (every field has one);
- a fact no field names is not on the object (the raw mapping stays with the ``ObservedEvent`` or
  ``JournalEntry``, for reports that print everything);
- a fact of the wrong type raises ``UnreadableFacts``, naming the kind, the fact and the type it should be.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
C = TypeVar("C", bound=type)


class UnreadableFacts(ValueError):
    """Facts of a known kind that do not fit its fields: ``"state:changed": state should be str, not 3``."""


def typed(cls: C, fields: Mapping[str, Any]) -> C:
    """Make ``cls`` a frozen dataclass with these fields, each given by its type (``session=str``,
    ``code=int | None``, ``ids=list[str]``), in this order, after the fields it inherits and those its body
    declares. A field's default is what its type has when nothing is said: None where None is allowed, else
    ``""``, 0, 0.0, False, an empty list or an empty dict (``Any``: None)."""
    cls.__annotations__ = {**inspect.get_annotations(cls), **fields}
    for name, hint in fields.items():
        setattr(cls, name, _default(hint))
    return dataclass(frozen=True)(cls)


def _default(hint: Any) -> Any:
    if hint is Any or fits(None, hint):
        return None
    origin = get_origin(hint) or hint
    if origin in (list, dict):
        return field(default_factory=origin)
    return {str: "", int: 0, float: 0.0, bool: False}[origin]


class Kinds(Generic[T]):
    """The classes for one family of facts (the client's events, the services' records), by name.

    ``what`` says what they are in error messages ("client event", "journal entry"). The family's base class
    calls ``made`` from its ``__init_subclass__``, so a class says what it is on its first line:
    ``class StateChanged(Event, kind="state:changed", state=str, previous=str, reason=str)``."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, list[tuple[type[T], Mapping[str, Any]]]] = {}

    def made(
        self, cls: type[T], kind: str | None, when: Mapping[str, Any] | None, fields: Mapping[str, Any]
    ) -> None:
        """Make a new class of the family a frozen dataclass with these fields (see ``typed``); with a
        ``kind``, give it ``kind`` and register it under that name. With ``when``, the class stands for the
        facts under that name only when those facts have those values (``{"component": "avatar"}``); the
        class registered without ``when`` takes the rest."""
        typed(cls, fields)
        if kind is not None:
            cls.kind = kind  # type: ignore[attr-defined]
            self._classes.setdefault(kind, []).append((cls, when or {}))

    def names(self) -> set[str]:
        """Every name that has a class."""
        return set(self._classes)

    def classes(self, name: str | None = None) -> list[type[T]]:
        """The classes registered for ``name`` (every class, without one), in the order registered."""
        chosen = self._classes.values() if name is None else [self._classes.get(name, [])]
        return [cls for candidates in chosen for cls, _ in candidates]

    def pick(self, name: str, facts: Mapping[str, Any]) -> type[T] | None:
        """The class for these facts under ``name``: the first whose ``when`` they satisfy, else the first
        whose fields name every fact, else the first registered; None for a name with no class."""
        candidates = self._classes.get(name, [])
        fitting = [cls for cls, when in candidates if when and _satisfies(facts, when)]
        fitting += [cls for cls, when in candidates if not when]
        fitting += [cls for cls, _ in candidates if set(facts) <= field_names(cls)]
        fitting += [cls for cls, _ in candidates]
        return fitting[0] if fitting else None

    def build(self, cls: type[T], name: str, facts: Mapping[str, Any], **given: Any) -> T:
        """An instance of ``cls`` from ``facts`` (checked against its fields' types) and ``given`` (taken
        as they are: the time, the service). Raises ``UnreadableFacts`` for a fact of the wrong type."""
        hints = _hints(cls)
        chosen = dict(given)
        for name_of_fact in field_names(cls) - set(given):
            if name_of_fact not in facts:
                continue
            value = facts[name_of_fact]
            if not fits(value, hints[name_of_fact]):
                raise UnreadableFacts(
                    f"{self.what} {name!r}: {name_of_fact} should be {_shown(hints[name_of_fact])}, "
                    f"not {value!r}"
                )
            chosen[name_of_fact] = value
        return cls(**chosen)


def _satisfies(facts: Mapping[str, Any], when: Mapping[str, Any]) -> bool:
    return all(facts.get(key) == value for key, value in when.items())


@functools.cache
def field_names(cls: type) -> frozenset[str]:
    """The names of a dataclass's fields that its constructor takes."""
    return frozenset(item.name for item in fields(cls) if item.init)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def fits(value: object, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` names: ``str``, ``int``, ``float`` (an int will do),
    ``bool``, ``None``, unions, ``list[X]`` (a list or tuple of X), ``Mapping[...]``/``dict[...]`` (any
    mapping), ``Any``. A bool is not taken for a number."""
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(fits(value, arg) for arg in get_args(hint))
    if hint in (int, float):
        allowed = (int,) if hint is int else (int, float)
        return isinstance(value, allowed) and not isinstance(value, bool)
    if origin in (list, Sequence):
        (item,) = get_args(hint) or (Any,)
        return isinstance(value, list | tuple) and all(fits(each, item) for each in value)
    if origin in (dict, Mapping):
        return isinstance(value, Mapping)
    return isinstance(value, origin or hint)


def _shown(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
