"""Loading spec YAML: bundled names or paths → validated, resolved :mod:`hwmodel.spec` records.

Why a module of its own: turning a pydantic error into a message that names the file, the level
(``levels[2] (ifmap_spad).keep``) and the fix is a job apart from the schema. Everything here is
re-exported by :mod:`hwmodel.spec`, the place to import it from. The schema classes are imported at
call time, so either module may be imported first.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mascot.errors import MascotError

if TYPE_CHECKING:  # pragma: no cover
    from hwmodel.spec import AcceleratorSpec, SystemSpec

_Spec = TypeVar("_Spec", bound=BaseModel)


def _arch_specs_dir() -> Path:
    """The bundled ``arch_specs`` folder: next to ``hwmodel`` (source tree or site-packages)."""
    beside = Path(__file__).resolve().parent.parent / "arch_specs"
    if beside.is_dir():
        return beside
    import arch_specs  # an installed layout that keeps packages apart

    return Path(next(iter(arch_specs.__path__))).resolve()


ARCH_SPECS_DIR = _arch_specs_dir()


def _format_validation_error(err: ValidationError, data: dict | None = None) -> str:
    lines = []
    for e in err.errors():
        loc = _describe_loc(e["loc"], data)
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"field {loc}: {msg}")
    return "; ".join(lines)


def _describe_loc(loc: tuple, data: dict | None) -> str:
    """``levels.2.size_words`` → ``levels[2] (psum_spad).size_words`` when the name is known."""
    parts: list[str] = []
    node: object = data
    for p in loc:
        if isinstance(p, int):
            label = f"[{p}]"
            if isinstance(node, list) and 0 <= p < len(node):
                node = node[p]
                if isinstance(node, dict) and isinstance(node.get("name") or node.get("target"), str):
                    label += f" ({node.get('name') or node.get('target')})"
            else:
                node = None
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            parts.append(str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise MascotError("file not found", path=path) from None
    except IsADirectoryError:
        raise MascotError("is a folder, expected a YAML file", path=path) from None
    except yaml.YAMLError as exc:
        raise MascotError(f"not valid YAML: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise MascotError("expected a YAML mapping at the top level", path=path)
    return data


def _resolve(name_or_path: str | Path, folder: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    candidate = ARCH_SPECS_DIR / folder / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    known = sorted(q.stem for q in (ARCH_SPECS_DIR / folder).glob("*.yaml"))
    raise MascotError(
        f"unknown {folder[:-1]} {str(name_or_path)!r}",
        hint=f"give a YAML file path or one of: {', '.join(known)}",
    )


def _validated(model: type[_Spec], data: dict, what: str, path: str | Path | None) -> _Spec:
    """``model`` validated from ``data``; a pydantic error becomes one MascotError naming ``path`` and the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MascotError(f"invalid {what} spec: {_format_validation_error(exc, data)}", path=path) from None


def accelerator_from_dict(data: dict, *, path: str | Path | None = None, resolve: bool = True) -> AcceleratorSpec:
    """Validate a parsed accelerator mapping; errors name ``path`` and the field."""
    from hwmodel.spec import AcceleratorSpec

    spec = _validated(AcceleratorSpec, data, "accelerator", path)
    return spec.resolved() if resolve else spec


def load_accelerator(name_or_path: str | Path, *, resolve: bool = True) -> AcceleratorSpec:
    """Load and validate an SA spec by bundled name (``eyeriss_small``) or YAML path.

    With ``resolve`` (the default) missing energies, area and static power are filled from the
    technology tables (:meth:`AcceleratorSpec.resolved`).
    """
    path = _resolve(name_or_path, "accelerators")
    try:
        st = path.stat()
    except OSError:
        raise MascotError("file not found", path=path) from None
    return _load_accelerator_cached(str(path), st.st_mtime_ns, st.st_size, resolve)


@lru_cache(maxsize=256)
def _load_accelerator_cached(path: str, mtime_ns: int, size: int, resolve: bool) -> AcceleratorSpec:
    """Specs are frozen, so a file read once (same mtime and size) is shared, not re-parsed."""
    return accelerator_from_dict(read_yaml(Path(path)), path=path, resolve=resolve)


def load_system(name_or_path: str | Path) -> SystemSpec:
    """Load and validate a system spec by bundled name (``relmas6``) or YAML path.

    Every accelerator the system names is loaded too, so a wrong class name fails here, naming
    the system file and the group.
    """
    from hwmodel.spec import SystemSpec

    path = _resolve(name_or_path, "systems")
    system = _validated(SystemSpec, read_yaml(path), "system", path).with_base_dir(path.parent)
    for i, g in enumerate(system.accelerators):
        if g.spec is not None:
            continue
        try:
            ref = Path(g.accelerator)
            if ref.suffix in (".yaml", ".yml") and not ref.is_absolute() and (path.parent / ref).exists():
                ref = path.parent / ref
            load_accelerator(ref)
        except MascotError as exc:
            raise MascotError(f"field accelerators[{i}].accelerator {g.accelerator!r}: {exc}", path=path) from None
    return system


def list_specs(folder: Literal["accelerators", "systems"]) -> list[str]:
    return sorted(p.stem for p in (ARCH_SPECS_DIR / folder).glob("*.yaml"))
