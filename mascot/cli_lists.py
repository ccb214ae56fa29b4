"""Comma-separated option values (``--models a,b,c``, ``--dram-gbps 4,8,16``) parsed the same way everywhere.

Strict by default: an empty entry (``a,,b``) is usually a typo that would silently drop a model or a
seed, so it is a user error naming the option. ``strict=False`` skips empty entries instead (for lists
assembled by scripts, where a trailing comma is common).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mascot.errors import MascotError

T = TypeVar("T")


def split_list(text: str, option: str, example: str = "a,b,c (comma-separated)", strict: bool = True) -> list[str]:
    """The stripped entries of ``text``; an empty entry is an error when ``strict``, else dropped."""
    items = [t.strip() for t in text.split(",")]
    if not strict:
        return [t for t in items if t]
    if not items or any(not t for t in items):
        raise MascotError(f"{option} {text!r} has an empty entry", hint=f"write {option} {example}")
    return items


def split_numbers(text: str, option: str, cast: Callable[[str], T], example: str) -> list[T]:
    """The entries of ``text`` converted by ``cast`` (``int``/``float``); empty entries dropped, a bad one named."""
    out: list[T] = []
    for item in split_list(text, option, strict=False):
        try:
            out.append(cast(item))
        except ValueError:
            kind = "an integer" if cast is int else "a number"
            raise MascotError(f"{option} entry {item!r} is not {kind}", hint=f"e.g. {option} {example}") from None
    return out
