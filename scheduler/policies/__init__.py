"""Scheduling policies behind one interface, and a registry by name.

``get_policy("fcfs-h")``, ``get_policy("magma", population=20, generations=10)``... Names with an
argument use ``"prefix:ARG"`` (e.g. ``"relmas:model.pt"``): a package registers a prefix with
:func:`register_policy_prefix`; for an unknown prefix ``P`` the module ``scheduler.policies.P`` or
``scheduler.P.policy`` is imported on first use so that it can register itself.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from mascot.errors import MascotError
from scheduler.policies.base import Policy, priority_from_order
from scheduler.policies.fcfs import FCFSH
from scheduler.policies.herald import Herald
from scheduler.policies.magma import Magma
from scheduler.policies.prema import PremaH, PremaHLate
from scheduler.policies.random_policy import RandomPolicy
from scheduler.policies.reserve import PremaHReserve

_REGISTRY: dict[str, Callable[..., Policy]] = {
    "fcfs-h": FCFSH,
    "prema-h": PremaH,
    "prema-h-late": PremaHLate,
    "prema-h-reserve": PremaHReserve,
    "herald": Herald,
    "magma": Magma,
    "random": RandomPolicy,
}
_PREFIXES: dict[str, Callable[..., Policy]] = {}

BASELINES: tuple[str, ...] = ("fcfs-h", "prema-h", "herald", "magma")


def register_policy(name: str, factory: Callable[..., Policy]) -> None:
    """Make ``get_policy(name, **kw)`` call ``factory(**kw)``."""
    _REGISTRY[name.lower()] = factory


def register_policy_prefix(prefix: str, factory: Callable[..., Policy]) -> None:
    """Make ``get_policy("prefix:ARG", **kw)`` call ``factory(ARG, **kw)``."""
    _PREFIXES[prefix.lower()] = factory


def available_policies() -> list[str]:
    return sorted(_REGISTRY) + [f"{p}:ARG" for p in sorted(_PREFIXES)]


def get_policy(name: str, **kw: Any) -> Policy:
    """A fresh policy object from its registry name (``fcfs-h``, ``magma``, ``relmas:PATH``...)."""
    key = name.strip().lower()
    prefix, sep, arg = key.partition(":")
    if sep:
        prefix_orig, _, arg = name.strip().partition(":")
        if prefix not in _PREFIXES:  # let the package that provides the prefix register it
            for module in (f"scheduler.policies.{prefix}", f"scheduler.{prefix}.policy"):
                try:
                    found = importlib.util.find_spec(module) is not None
                except ModuleNotFoundError:
                    found = False
                if found:
                    importlib.import_module(module)
                    break
        if prefix in _PREFIXES:
            return _PREFIXES[prefix](arg, **kw)
        raise MascotError(f"unknown policy prefix {prefix_orig!r}", hint=f"known: {', '.join(available_policies())}")
    if key not in _REGISTRY:
        raise MascotError(f"unknown policy {name!r}", hint=f"known: {', '.join(available_policies())}")
    try:
        return _REGISTRY[key](**kw)
    except TypeError as exc:
        raise MascotError(f"bad options for policy {name!r}: {exc}") from None


__all__ = [
    "BASELINES",
    "FCFSH",
    "Herald",
    "Magma",
    "Policy",
    "PremaH",
    "PremaHLate",
    "PremaHReserve",
    "RandomPolicy",
    "available_policies",
    "get_policy",
    "priority_from_order",
    "register_policy",
    "register_policy_prefix",
]
