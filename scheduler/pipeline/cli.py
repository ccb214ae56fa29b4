"""``mascot pipeline``: partition a DNN across a pipeline of k accelerators (RESPECT)."""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.cli_lists import split_list, split_numbers
from mascot.errors import MascotError
from mascot.io import atomic_write_json
from mascot.ui import console, print_frame, print_json

pipeline_app = typer.Typer(
    help="Pipelined multi-accelerator partitioning (RESPECT): split a DNN into k stages on k devices.",
    no_args_is_help=True,
)


def _parse_list(text: str, kind: type, option: str) -> list:
    """A non-empty comma-separated option value as ``kind`` (``str`` or ``int``)."""
    items = split_numbers(text, option, kind, "4,5,6") if kind is not str else split_list(text, option, strict=False)
    if not items:
        raise MascotError(f"{option} is empty", hint=f"give a comma-separated list, e.g. {option} 4,5,6")
    return items


@pipeline_app.command("solve")
def solve_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Zoo model name or ONNX file path."),
    stages: int = typer.Option(4, "--stages", "-k", min=1, help="Number of pipeline stages (devices)."),
    solver: str = typer.Option("learned", "--solver", "-s", help="exact | heuristic | balanced | learned"),
    accelerator: str = typer.Option("edge_tpu", "--accelerator", "-a", help="SA class name or YAML path."),
    table: Path | None = typer.Option(None, "--table", help="Layer table (Parquet/CSV) with latency_s per layer; "
                                      "default: the built-in roofline of the SA spec."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Exact solver: seconds before it returns its best."),
    workers: int = typer.Option(2, "--workers", help="Exact solver: CP-SAT search workers."),
    samples: int = typer.Option(15, "--samples", help="Learned solver: sampled rollouts besides the greedy one."),
    seed: int = typer.Option(0, "--seed", help="Seed of the learned solver's sampling and of CP-SAT."),
    weights: Path | None = typer.Option(None, "--weights", help="Learned solver: a model file from `pipeline train`."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the result as JSON here."),
) -> None:
    """Partition one model into k pipeline stages and print the stages, their times and the bottleneck."""
    import pandas as pd

    from scheduler.pipeline.costs import load_graph, problem_from_graph
    from scheduler.pipeline.solve import SOLVERS, solve

    if solver not in SOLVERS:
        raise MascotError(f"unknown solver {solver!r}", hint=f"use one of: {', '.join(SOLVERS)}")
    graph = load_graph(model)
    problem = problem_from_graph(graph, accelerator, stages, compute=str(table) if table else "roofline")
    part = solve(problem, solver, time_limit_s=time_limit, workers=workers, seed=seed, samples=samples, weights=weights)
    result = {"model": graph.name, "layers": problem.n_layers, "stages": stages, "accelerator": accelerator,
              **part.to_dict()}
    result["stage_layers"] = [[problem.names[i] for i in range(problem.n_layers) if part.assign[i] == j]
                              for j in range(stages)]
    if output:
        atomic_write_json(output, result)
    if as_json:
        print_json(result)
        return
    bd = part.breakdown
    frame = pd.DataFrame({
        "stage": range(stages),
        "layers": [int((part.assign == j).sum()) for j in range(stages)],
        "first": [next((problem.names[i] for i in range(problem.n_layers) if part.assign[i] == j), "-") for j in range(stages)],
        "last": [next((problem.names[i] for i in reversed(range(problem.n_layers)) if part.assign[i] == j), "-")
                 for j in range(stages)],
        "params_MB": bd.param_bytes / 1e6,
        "compute_ms": bd.compute_s * 1e3,
        "param_stream_ms": bd.param_stream_s * 1e3,
        "receive_ms": bd.receive_s * 1e3,
        "stage_ms": bd.stage_time_s * 1e3,
    })
    print_frame(frame, title=f"{graph.name} on {stages} × {accelerator} ({solver})")
    gap = f", gap to bound {part.gap * 100:.3g} %" if part.gap is not None else ""
    console.print(f"bottleneck {part.bottleneck_s * 1e3:.4g} ms ({part.throughput_per_s:.4g} inferences/s), "
                  f"total latency {part.total_latency_s * 1e3:.4g} ms, solve time {part.solve_time_s:.3g} s, "
                  f"status {part.status}{gap}")


@pipeline_app.command("bench")
def bench_cmd(
    models: str = typer.Option(",".join(("resnet50", "resnet101", "resnet152", "densenet121", "densenet169",
                                         "densenet201", "inceptionv3", "xception", "mobilenetv1", "mobilenetv2")),
                               "--models", help="Comma-separated zoo names or ONNX paths."),
    stages: str = typer.Option("4,5,6", "--stages", help="Comma-separated stage counts."),
    solvers: str = typer.Option("heuristic,balanced,learned,exact", "--solvers", help="Solvers to compare."),
    accelerator: str = typer.Option("edge_tpu", "--accelerator", "-a"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Exact solver limit per case (seconds)."),
    workers: int = typer.Option(2, "--workers"),
    samples: int = typer.Option(15, "--samples"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("out/pipeline"), "--out", "-o", help="Folder for CSV, Markdown and PNG."),
    as_json: bool = typer.Option(False, "--json", help="Print the headline figures as JSON."),
) -> None:
    """Compare the solvers on (model, k) cases: throughput vs the compiler heuristic, learned gap, speed-up."""
    import pandas as pd

    from scheduler.pipeline.bench import headline, run_bench, summarise, write_outputs
    from scheduler.pipeline.solve import SOLVERS

    solver_list = tuple(_parse_list(solvers, str, "--solvers"))
    bad = [s for s in solver_list if s not in SOLVERS]
    if bad:
        raise MascotError(f"--solvers: unknown {bad}", hint=f"use some of: {', '.join(SOLVERS)}")
    results = run_bench(_parse_list(models, str, "--models"), _parse_list(stages, int, "--stages"), solver_list,
                        accelerator=accelerator, time_limit_s=time_limit, workers=workers, seed=seed, samples=samples)
    paths = write_outputs(results, out)
    summary = summarise(results)
    head = headline(summary)
    atomic_write_json(out / "headline.json", head)
    if as_json:
        print_json(head)
        return
    print_frame(summary, title="pipeline partitioning benchmark")
    print_frame(pd.DataFrame([head]), title="headline")
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))


@pipeline_app.command("train")
def train_cmd(
    seed: int = typer.Option(0, "--seed"),
    graphs: int = typer.Option(600, "--graphs", help="Synthetic DAGs to solve exactly and imitate."),
    min_layers: int = typer.Option(10, "--min-layers"),
    max_layers: int = typer.Option(80, "--max-layers"),
    epochs: int = typer.Option(40, "--epochs"),
    exact_limit: float = typer.Option(20.0, "--exact-limit", help="CP-SAT deterministic-time limit per label."),
    reinforce_steps: int = typer.Option(0, "--reinforce-steps", help="Policy-gradient fine-tuning steps after imitation."),
    hidden: int = typer.Option(64, "--hidden", min=1, help="Encoder LSTM width per direction."),
    mlp: int = typer.Option(64, "--mlp", min=2, help="Scorer MLP width (its second layer has half)."),
    out: Path = typer.Option(Path("out/pipeline_policy.pt"), "--out", "-o", help="Model file to write."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train the learned partitioner by imitation of exact solutions on synthetic DAGs."""
    import pandas as pd

    from scheduler.pipeline.train import TrainConfig, run_training

    if min_layers < 2 or max_layers < min_layers:
        raise MascotError("--min-layers must be ≥ 2 and ≤ --max-layers")
    cfg = TrainConfig(seed=seed, graphs=graphs, min_layers=min_layers, max_layers=max_layers, epochs=epochs,
                      exact_limit=exact_limit, reinforce_steps=reinforce_steps, hidden=hidden, mlp=mlp)
    metrics = run_training(cfg, out, show_progress=not as_json)
    head = {k: v for k, v in metrics.items() if k not in ("history", "config")}
    head["model_path"] = str(out)
    if as_json:
        print_json(head)
        return
    print_frame(pd.DataFrame([head]), title="pipeline policy training")


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")
