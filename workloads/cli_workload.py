"""``mascot workload ...``: draw and inspect multi-tenant request traces.

Each command is one call of :mod:`workloads.traces`; heavy modules (pandas, numpy) are imported
inside the commands so that ``mascot --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mascot.cli_lists import split_list
from mascot.errors import MascotError

workload_app = typer.Typer(
    name="workload",
    help="Multi-tenant request traces: Pareto arrivals, a model mix and QoS levels.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(workload_app, name="workload")


def _parse_weights(text: str) -> list[float]:
    out = []
    for item in split_list(text, "--weights"):
        try:
            out.append(float(item))
        except ValueError:
            raise MascotError(f"--weights entry {item!r} is not a number", hint="write --weights 1,2,1") from None
    return out


def _check_models(names: list[str]) -> list[str]:
    """Zoo names and aliases pass (other spellings become the zoo name); so do existing .onnx files."""
    from workloads.zoo import ALIASES, model_names, resolve_name

    known = set(model_names()) | set(ALIASES)
    out = []
    for name in names:
        if name in known or (name.lower().endswith(".onnx") and Path(name).is_file()):
            out.append(name)
            continue
        try:
            out.append(resolve_name(name))
        except MascotError as exc:
            message = str(exc).split("\n  hint:")[0]
            raise MascotError(f"--models: {message}",
                              hint=f"{exc.hint}; or give paths of .onnx files; `mascot models list` shows the zoo") from None
    return out


@workload_app.command("generate")
def generate(
    workload_set: Annotated[str | None, typer.Option("--set", help="Workload set of the paper: light, heavy or mixed (default mixed).")] = None,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated model names instead of a set.")] = None,
    weights: Annotated[str | None, typer.Option("--weights", help="Comma-separated weights, one per model (default uniform).")] = None,
    qos: Annotated[str, typer.Option("--qos", help="QoS level (low, medium, high), 'mixed', or probabilities low=0.2,medium=0.5,high=0.3.")] = "medium",
    duration_ms: Annotated[float, typer.Option("--duration-ms", help="Length of the trace in milliseconds.")] = 1000.0,
    mean_interarrival_ms: Annotated[float, typer.Option("--mean-interarrival-ms", help="Mean time between two requests in milliseconds.")] = 2.0,
    pareto_shape: Annotated[float | None, typer.Option("--pareto-shape", help="Shape of the Lomax (Pareto II) inter-arrival law, > 1 (default 2.0).")] = None,
    qos_factor: Annotated[float | None, typer.Option("--qos-factor", help="Medium QoS factor: deadline = factor × isolated latency (default 3.0).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same trace.")] = 0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the trace here (.parquet or .json).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Draw a request trace and write it to Parquet or JSON."""
    from workloads import traces

    if workload_set is not None and models is not None:
        raise MascotError("--set and --models are alternatives", hint="give one of them")
    if weights is not None and models is None and workload_set is None:
        raise MascotError("--weights needs --models (or --set) to say which models they weigh")
    if output is not None:
        traces.trace_format(output)  # a wrong suffix fails before the work, not after
    # the library's own checks, named after the options: a bad value fails before any work
    traces.check_positive("--duration-ms", duration_ms)
    traces.check_positive("--mean-interarrival-ms", mean_interarrival_ms)
    if qos_factor is not None:
        traces.check_positive("--qos-factor", qos_factor)
    if pareto_shape is not None:
        traces.check_pareto_shape(pareto_shape, "--pareto-shape")
    try:
        qos_mix = traces.parse_qos_mix(qos)
    except MascotError as exc:
        raise MascotError(f"--qos: {str(exc).split(chr(10))[0]}", hint=exc.hint) from None
    mix: str | list[str] = _check_models(split_list(models, "--models")) if models is not None else (workload_set or "mixed")
    kwargs: dict[str, Any] = {}
    if pareto_shape is not None:
        kwargs["pareto_shape"] = pareto_shape
    if qos_factor is not None:
        kwargs["medium_qos_factor"] = qos_factor
    trace = traces.generate_trace(
        mix,
        weights=_parse_weights(weights) if weights is not None else None,
        duration_s=duration_ms / 1000.0,
        mean_interarrival_s=mean_interarrival_ms / 1000.0,
        qos=qos_mix,
        seed=seed,
        **kwargs,
    )
    if output is not None:
        traces.save_trace(trace, output)
    _show(trace, output, rows=5, as_json=as_json)
    if output is not None and not as_json:
        from mascot.ui import console

        console.print(f"wrote {output} ({len(trace):,} requests)")


@workload_app.command("show")
def show(
    path: Annotated[Path, typer.Argument(help="A trace file (.parquet or .json).")],
    rows: Annotated[int, typer.Option("--rows", help="How many requests to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a trace: requests per model and QoS level, arrival rate, first requests."""
    from workloads import traces

    _show(traces.load_trace(path), path, rows=rows, as_json=as_json)


def _overview(trace: Any) -> dict[str, Any]:
    import numpy as np

    arrival = trace.frame["arrival_s"].to_numpy()
    gaps = np.diff(arrival, prepend=0.0)
    meta = trace.metadata()
    return {
        "requests": len(trace),
        "workload_set": meta["workload_set"],
        "duration_s": trace.span_s,
        "arrival_rate_per_s": trace.arrival_rate_per_s,
        "mean_interarrival_s": float(gaps.mean()) if len(gaps) else None,
        "target_mean_interarrival_s": meta["mean_interarrival_s"],
        "pareto_shape": meta["pareto_shape"],
        "medium_qos_factor": meta["medium_qos_factor"],
        "qos_mix": meta["qos_mix"],
        "seed": meta["seed"],
    }


def _show(trace: Any, path: Path | None, *, rows: int, as_json: bool) -> None:
    import pandas as pd

    from mascot.ui import print_frame, print_json

    overview = _overview(trace)
    summary = trace.summary()
    if as_json:
        print_json({**overview, "path": str(path) if path else None,
                    "per_model": summary.to_dict(orient="records")})
        return
    info = pd.DataFrame({"field": list(overview), "value": [_fmt(v) for v in overview.values()]})
    print_frame(info, title=f"trace {path}" if path else "trace (not saved: add -o FILE)")
    print_frame(summary, title="requests per model and QoS level")
    if rows > 0 and len(trace):
        print_frame(trace.frame.head(rows), title=f"first {min(rows, len(trace))} of {len(trace):,} requests")


def _fmt(value: Any) -> str:
    from mascot.ui import format_value

    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(float(v))}" for k, v in value.items())
    return format_value(value)
