"""``mascot map``: the best mapping of one layer of a model on one SA class."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mascot.errors import MascotError


def register(app: typer.Typer) -> None:
    @app.command("map")
    def map_cmd(
        model: str = typer.Option(..., "--model", help="Zoo model name or ONNX file."),
        layer: Optional[str] = typer.Option(None, "--layer", help="Layer name (default: list the MAC layers)."),
        accelerator: str = typer.Option(..., "--accelerator", help="SA class name or spec YAML."),
        objective: str = typer.Option("delay", "--objective", help="delay | energy | edp."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same mapping)."),
        effort: str = typer.Option("fast", "--effort", help="fast (as the layer tables) | thorough."),
        timeloop_yaml: Optional[Path] = typer.Option(None, "--timeloop-yaml", help="Also write the mapping as Timeloop mapping YAML."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    ) -> None:
        """Map one layer on one SA and print cycles, energy per level, DRAM traffic and the mapping."""
        import pandas as pd

        from hwmodel.backends.analytical import AnalyticalBackend
        from hwmodel.cli_timeloop import print_report, result_report
        from hwmodel.mapper import OBJECTIVES
        from hwmodel.spec import load_accelerator
        from hwmodel.tables import resolve_models
        from hwmodel.vector_cost import vector_layer_cost
        from mascot.io import atomic_write_text
        from mascot.ui import console, print_frame, print_json

        if objective not in OBJECTIVES:
            raise MascotError(f"unknown objective {objective!r}", hint=f"choose one of {', '.join(OBJECTIVES)}")
        graph = resolve_models([model])[0]
        spec = load_accelerator(accelerator)
        if layer is None:
            rows = [{"layer": x.name, "op": x.op_type, "kind": x.kind.value, "macs": x.macs} for x in graph.layers]
            print_frame(pd.DataFrame(rows), title=f"{graph.name}: layers (pick one with --layer)")
            return
        try:
            target = graph[layer]
        except KeyError:
            names = [x.name for x in graph.layers]
            raise MascotError(
                f"model {graph.name} has no layer {layer!r}",
                hint=f"layers include: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''} "
                f"(run without --layer to list them)",
            ) from None
        if not target.is_mac:
            cost = vector_layer_cost(target, spec)
            if as_json:
                print_json(cost.to_dict() | {"energy_breakdown_pj": cost.energy_breakdown_pj})
            else:
                console.print(f"{target.name} is a vector layer ({target.op_type}): {cost.cycles:,} cycles, "
                              f"{cost.energy_pj / 1e6:,.3f} uJ, {cost.mapping}")
            return
        backend = AnalyticalBackend(objective=objective, seed=seed, effort=effort)
        found, pb = backend.map_layer(target, spec)
        report = result_report(pb, spec, found.result, found.mapping)
        report.update({"model": graph.name, "layer": target.name, "accelerator": spec.name, "objective": objective,
                       "groups": pb.groups, "evaluated": found.evaluated})
        if timeloop_yaml is not None:
            atomic_write_text(timeloop_yaml, found.mapping.to_timeloop_yaml())
        if as_json:
            print_json(report)
        else:
            note = f", {pb.groups} groups (one mapped, costs x{pb.groups})" if pb.groups > 1 else ""
            print_report(report, f"{graph.name}/{target.name} on {spec.name} ({objective}{note})")
            if timeloop_yaml is not None:
                console.print(f"wrote {timeloop_yaml}")
