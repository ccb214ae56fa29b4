"""``mascot models ...``: the model zoo and any ONNX file as a layer DAG.

Each command is one call of the Python API (:func:`workloads.onnx_import.load_onnx`, the
:mod:`workloads.zoo` helpers). ``onnx``, ``pandas`` and the zoo generator's torch stack are
imported inside the commands, so ``mascot --help`` and ``mascot models list`` start fast.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from mascot.errors import MascotError

models_app = typer.Typer(
    name="models",
    help="DNN models: the zoo, and any ONNX file as a DAG of layers (MACs, sizes, dimensions).",
    no_args_is_help=True,
)

ZOO_EXTRA_HINT = "install the generator's dependencies with `make zoo` (the `zoo` extra plus pytorchcv without its torchvision pin)"


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


# --- argument parsing ------------------------------------------------------------------
def parse_input_shapes(specs: list[str]) -> dict[str, tuple[int, ...]]:
    """``["x=1,3,224,224", ...]`` → ``{"x": (1, 3, 224, 224)}``, with errors that show the form."""
    shapes: dict[str, tuple[int, ...]] = {}
    form = "--input-shape NAME=d0,d1,... (e.g. --input-shape input=1,3,224,224)"
    for spec in specs:
        name, sep, dims = spec.partition("=")
        name = name.strip()
        if not sep or not name or not dims.strip():
            raise MascotError(f"--input-shape {spec!r} is not NAME=d0,d1,...", hint=f"write {form}")
        try:
            shape = tuple(int(d.strip()) for d in dims.split(","))
        except ValueError:
            raise MascotError(f"--input-shape {spec!r}: dimensions must be integers", hint=f"write {form}") from None
        if any(d <= 0 for d in shape):
            raise MascotError(f"--input-shape {spec!r}: dimensions must be positive", hint=f"write {form}")
        if name in shapes:
            raise MascotError(f"--input-shape gives input {name!r} twice", hint="give each input once")
        shapes[name] = shape
    return shapes


def resolve_model(name_or_path: str) -> tuple[Path, str | None]:
    """A file path, or a zoo name / alias → (ONNX path, zoo name or None for a file).

    Unknown names raise :class:`MascotError` with close matches and the zoo listing.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path, None
    looks_like_path = path.suffix.lower() == ".onnx" or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path or path.exists():
        reason = "is not a file" if path.exists() else "not found"
        raise MascotError(f"ONNX file {reason}", path=path,
                          hint="check the path, or give a zoo name (`mascot models list`)")
    from workloads.zoo import model_path, resolve_name

    try:
        name = resolve_name(name_or_path)
    except MascotError as exc:
        message = str(exc).split("\n  hint:")[0]
        raise MascotError(f"{message}: neither a zoo name nor an existing file",
                          hint=f"{exc.hint}; `mascot models list` shows the zoo") from None
    return Path(model_path(name)), name


# --- commands --------------------------------------------------------------------------
@models_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """The zoo: name, variant, input, MACs, parameters and layers of every model."""
    import pandas as pd

    from mascot.ui import print_frame, print_json
    from workloads.zoo import list_models

    rows = list_models()
    if as_json:
        print_json(rows)
        return
    df = pd.DataFrame({
        "name": [r["name"] for r in rows],
        "input": [_input_text(r.get("input", "")) for r in rows],
        "GMACs": [int(r["macs"]) / 1e9 for r in rows],
        "M params": [int(r["params"]) / 1e6 for r in rows],
        "layers": [int(r["layers"]) for r in rows],
        "variant": [r.get("variant", "") for r in rows],
    })
    print_frame(df, title="model zoo (weight-free ONNX; `mascot models show NAME --layers` for details)")


def _input_text(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return _input_text(next(iter(value.values())))
    if isinstance(value, dict):
        return ", ".join(f"{k}={_input_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value))
    return str(value)


@models_app.command("show")
def show_cmd(
    model: Annotated[str, typer.Argument(help="A zoo name (see `mascot models list`) or an ONNX file.")],
    layers: Annotated[bool, typer.Option("--layers", help="Also print the per-layer table.")] = False,
    input_shape: Annotated[list[str] | None, typer.Option("--input-shape", help="Fix an input's shape: NAME=d0,d1,... (repeatable).")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Value of the symbolic batch dimension.")] = 1,
    allow_unknown: Annotated[bool, typer.Option("--allow-unknown", help="Treat unsupported operators as vector layers sized by their outputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print totals and layers as JSON.")] = False,
) -> None:
    """Totals of a model (MACs, parameters, layers) and, with --layers, one row per layer."""
    from workloads.onnx_import import load_onnx

    shapes = parse_input_shapes(list(input_shape or []))
    path, zoo_name = resolve_model(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if zoo_name is not None and not shapes and not allow_unknown:
            from workloads.zoo import load_model

            graph = load_model(zoo_name, batch=batch)  # knows which zoo models allow batch > 1
        else:
            graph = load_onnx(path, input_shapes=shapes or None, batch=batch, allow_unknown=allow_unknown)
    if caught:
        from mascot.ui import err_console

        for w in caught:
            err_console.print(f"[yellow]warning:[/yellow] {w.message}", highlight=False)
    if as_json:
        from mascot.ui import print_json

        frame = graph.to_frame()
        print_json({"summary": {**graph.summary(), "source": str(path)}, "layers": frame.to_dict(orient="records")})
        return
    _print_graph(graph, path, layers)


def layer_rows(graph: Any) -> Any:
    """The per-layer table the CLI prints: op, dims, MACs, weight / input / output elements."""
    import pandas as pd

    df = graph.to_frame()
    return pd.DataFrame({
        "#": df["index"],
        "name": df["name"],
        "op": [_op_text(op, fused) for op, fused in zip(df["op_type"], df["fused"])],
        "dims": [_dims_text(r) for r in df.itertuples(index=False)],
        "MACs": df["macs"],
        "weights": df["weight_elements"],
        "inputs": df["input_elements"],
        "outputs": df["output_elements"],
    })


_OP_ABBREV = {"BatchNormalization": "BN", "GlobalAveragePool": "GlobalAvgPool", "LayerNormalization": "LayerNorm"}


def _op_text(op: str, fused: str) -> str:
    """``Conv`` + fused ``BatchNormalization,Relu`` → ``Conv+BN+Relu``."""
    parts = [op] + [f for f in fused.split(",") if f]
    return "+".join(_OP_ABBREV.get(p, p) for p in parts)


def _dims_text(r: Any) -> str:
    if r.kind == "vector":
        return f"ops={r.vector_ops:,}"
    parts = [f"N{r.N}", f"C{r.C}", f"M{r.M}"]
    if (r.R, r.S) != (1, 1):
        parts.append(f"R{r.R}S{r.S}")
    parts.append(f"P{r.P}Q{r.Q}")
    if (r.stride_h, r.stride_w) != (1, 1):
        parts.append(f"s{r.stride_h}" if r.stride_h == r.stride_w else f"s{r.stride_h}x{r.stride_w}")
    if (r.dilation_h, r.dilation_w) != (1, 1):
        parts.append(f"d{r.dilation_h}" if r.dilation_h == r.dilation_w else f"d{r.dilation_h}x{r.dilation_w}")
    if r.groups != 1:
        parts.append(f"g{r.groups}")
    return " ".join(parts)


def _layer_table(graph: Any) -> Any:
    """The per-layer table, compact enough for a terminal: sizes in k / M / G, no inner rules."""
    from rich import box

    from mascot.ui import frame_table

    rows = layer_rows(graph)
    for col in ("MACs", "weights", "inputs", "outputs"):
        rows[col] = rows[col].map(lambda v: si(int(v)) if v else "0")
    table = frame_table(rows, title=f"{len(graph)} layers of {graph.name} (topological order; exact counts: --json)")
    table.box = box.SIMPLE_HEAD
    table.pad_edge = False
    for column in table.columns:
        if column.header in ("#", "MACs", "weights", "inputs", "outputs"):
            column.justify = "right"
            column.no_wrap = True
    return table


def si(value: float) -> str:
    """``4089184256`` → ``"4.089 G"``: magnitudes readable at a glance."""
    for factor, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {unit}"
    return f"{value:g}"


def _with_si(value: int) -> str:
    return f"{value:,} ({si(value)})" if abs(value) >= 1000 else f"{value:,}"


def _print_graph(graph: Any, path: Path, layers: bool) -> None:
    import pandas as pd

    from mascot.ui import console, format_value, print_frame

    s = graph.summary()
    df = graph.to_frame()
    totals = {
        "model": s["model"],
        "source": str(path),
        "inputs": s["inputs"],
        "layers": int(s["layers"]),
        "MAC layers": int(s["mac_layers"]),
        "MACs": _with_si(int(s["macs"])),
        "params": _with_si(int(s["params"])),
        "weight elements": int(df["weight_elements"].sum()),
        "output elements": int(df["output_elements"].sum()),
    }

    print_frame(pd.DataFrame({"total": list(totals), "value": [format_value(v) for v in totals.values()]}),
                title=f"model {s['model']}")
    if layers:
        console.print(_layer_table(graph))
    else:
        console.print("[dim]add --layers for the per-layer table[/dim]")


@models_app.command("export")
def export_cmd(
    model: Annotated[str, typer.Argument(help="A zoo name (see `mascot models list`).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the ONNX file.")],
) -> None:
    """Copy a zoo model's (weight-free) ONNX file, e.g. to open it in Netron or another tool."""
    from mascot.io import atomic_write_bytes
    from mascot.ui import console

    path, zoo_name = resolve_model(model)
    if zoo_name is None:
        raise MascotError(f"{model!r} is a file, not a zoo name", hint="`mascot models list` shows the zoo names")
    if output.exists() and output.is_dir():
        output = output / path.name
    atomic_write_bytes(output, path.read_bytes())
    console.print(f"wrote {output} ({output.stat().st_size:,} bytes)")


@models_app.command("build-zoo")
def build_zoo_cmd(
    out_dir: Annotated[Path | None, typer.Option("-o", "--out-dir", help="Folder for the ONNX files and manifest (default: the zoo package).")] = None,
    only: Annotated[str | None, typer.Option("--only", help="Comma-separated zoo names to rebuild (default: all).")] = None,
) -> None:
    """Rebuild the zoo's weight-free ONNX files and manifest (needs the `zoo` extra)."""
    names = None
    if only is not None:
        from mascot.cli_lists import split_list

        names = split_list(only, "--only", example="resnet50,alexnet")
    try:  # the generator's modules (torch, pytorchcv) are imported here or by build_zoo itself
        from workloads.zoo.build import build_zoo

        result = build_zoo(out_dir=out_dir, names=names)
    except ModuleNotFoundError as exc:
        raise MascotError(f"the zoo generator needs the Python module {exc.name!r}, which is not installed",
                          hint=ZOO_EXTRA_HINT) from None
    _print_build_result(result)


def _print_build_result(result: Any) -> None:
    """``build_zoo`` returns one row per rebuilt model (MACs next to the published figure)."""
    from mascot.ui import print_frame

    shown = result.drop(columns=[c for c in ("sha256",) if c in result.columns])
    print_frame(shown, title=f"rebuilt {len(result)} zoo model(s)")
