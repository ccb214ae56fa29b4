"""``mascot surrogate dataset|train|eval|info``: learned cost models from the command line.

Each command is one call of the Python API (:func:`surrogate.dataset.generate`,
:func:`surrogate.model.train`, :func:`surrogate.evaluate.run_eval`), so studies can script it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.cli_lists import split_list
from mascot.errors import MascotError
from mascot.ui import console, err_console, print_frame, print_json

surrogate_app = typer.Typer(help="Learned (XGBoost) cost models: data sets, training, evaluation.", no_args_is_help=True)


@surrogate_app.command("dataset")
def dataset_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Data set folder (Parquet chunks; rerun to resume)."),
    backend: str = typer.Option("analytical", "--backend", "-b", help="Cost backend that gives the ground truth."),
    samples: int = typer.Option(20000, "--samples", "-n", help="Random (layer, SA) pairs, plus every zoo layer."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (same seed, same data set)."),
    no_zoo: bool = typer.Option(False, "--no-zoo", help="Leave the zoo layers out."),
    holdout: str = typer.Option("inceptionv3,yolov2", "--holdout", help="Zoo models kept out (for `eval`)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (0 = all cores)."),
    dask: str = typer.Option(None, "--dask", help="Evaluate on this Dask scheduler (tcp://host:8786)."),
) -> None:
    """Sample layer shapes × SA variants, evaluate them with BACKEND, write Parquet chunks."""
    from surrogate.dataset import generate, load_dataset

    held = tuple(split_list(holdout, "--holdout", strict=False))
    generate(output, backend=backend, samples=samples, seed=seed, zoo=not no_zoo, holdout=held,
             n_jobs=jobs or None, dask_address=dask, progress=True)
    df = load_dataset(output, drop_failed=False)
    failed = int((df["error"] != "").sum())
    summary = df.groupby(["hw_base", "kind"]).size().unstack(fill_value=0).reset_index()
    print_frame(summary, title=f"{len(df):,} rows ({failed} failed) by SA class and layer kind")
    console.print(f"wrote [bold]{output}[/bold]")


@surrogate_app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help="Data set folder made by `mascot surrogate dataset`."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write."),
    trials: int = typer.Option(20, "--trials", help="Optuna trials per target."),
    timeout: float = typer.Option(None, "--timeout", help="Optuna time limit per target in seconds."),
    threads: int = typer.Option(2, "--threads", help="XGBoost threads."),
    max_trees: int = typer.Option(600, "--max-trees", help="Cap on trees per target (file size, speed)."),
    max_depth: int = typer.Option(10, "--max-depth", help="Deepest tree Optuna may pick (prediction speed)."),
    seed: int = typer.Option(0, "--seed", help="Split and tuning seed."),
    name: str = typer.Option(None, "--name", help="Model name (default: the folder name)."),
    per_dataflow: bool = typer.Option(True, "--per-dataflow/--shared",
                                      help="One booster per (target, dataflow), or shared across dataflows."),
    base_weight: float = typer.Option(4.0, "--base-weight", min=0.0,
                                      help="Sample weight of rows on the four Table-1 classes unchanged."),
    loss: str = typer.Option("absolute", "--loss",
                             help="absolute (L1 on log targets: robust to the mapper's jumps) or squared."),
) -> None:
    """Train XGBoost regressors (log cycles, energy, DRAM read / write bytes), Optuna-tuned."""
    from surrogate.dataset import load_dataset
    from surrogate.model import LOSSES, TrainConfig, dataset_info, train

    if max_depth < 5:
        raise MascotError(f"--max-depth must be at least 5 (Optuna searches depths 5..max), got {max_depth}")
    cfg = TrainConfig(trials=trials, n_threads=threads, seed=seed, max_trees=max_trees, max_depth=max_depth,
                      timeout_s_per_target=timeout, per_dataflow=per_dataflow, base_weight=base_weight, loss=loss)
    df = load_dataset(data)
    metric = LOSSES[loss][1]

    def report(target: str, trial: int, score: float) -> None:
        err_console.print(f"  {target}: trial {trial} val {metric}(log) {score:.4f}")

    model = train(df, cfg, name=name or output.name, dataset_info=dataset_info(data, df), progress=report)
    model.save(output)
    _print_metrics(model.metadata["metrics"]["validation"], "validation split")
    console.print(f"trained on {model.metadata['train']['rows']:,} rows in {model.metadata['train']['time_s']} s; "
                  f"wrote [bold]{output}[/bold]")


@surrogate_app.command("eval")
def eval_cmd(
    model: str = typer.Argument("default", help="Model name (surrogate/models) or folder."),
    output: Path = typer.Option(Path("surrogate-eval"), "--output", "-o", help="Report folder."),
    data: Path = typer.Option(None, "--data", help="The training data set: trains the ridge / random-forest baselines."),
    random_samples: int = typer.Option(400, "--random", help="Held-out random shapes (on the Table-1 classes)."),
    hardware_samples: int = typer.Option(400, "--hardware", help="Held-out random shapes on unseen hardware."),
    seed: int = typer.Option(1_000_003, "--seed", help="Held-out sampling seed (differs from training)."),
    models: str = typer.Option("inceptionv3,yolov2", "--models", "-m",
                               help="Zoo networks held out of training (their layers form the `zoo` set)."),
    jobs: int = typer.Option(2, "--jobs", "-j", help="Processes for the ground truth."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Accuracy on held-out shapes / zoo networks / hardware, against baselines, and speed."""
    from surrogate.dataset import load_dataset
    from surrogate.evaluate import EvalConfig, run_eval
    from surrogate.model import SurrogateModel

    m = SurrogateModel.load(model)
    train_df = load_dataset(data) if data is not None else None
    held = tuple(split_list(models, "--models", strict=False))
    if not held:
        raise MascotError("--models names no network", hint="e.g. --models inceptionv3,yolov2")
    cfg = EvalConfig(random_samples=random_samples, hardware_samples=hardware_samples, seed=seed, n_jobs=jobs,
                     holdout_models=held)
    report = run_eval(m, output, cfg, train_data=train_df, progress=lambda s: err_console.print(s))
    if json_out:
        print_json({"metrics": report.metrics.to_dict(orient="records"), "speed": report.speed})
        return
    t = report.metrics
    main = t[t["sa_class"] == "all"].pivot_table(index=["set", "target"], columns="predictor",
                                                   values="mape").reset_index()
    print_frame(main, title="MAPE % per held-out set and target (all SA classes)")
    zoo = t[(t["set"] == "zoo") & (t["predictor"] == "xgboost")][["sa_class", "target", "n", "mape", "r2_log", "within_10"]]
    print_frame(zoo, title=f"held-out zoo layers ({', '.join(held)}): surrogate per SA class")
    s = report.speed
    console.print(f"batched: {s['batched_predictions_per_s']:,.0f} predictions/s "
                  f"({s['batched_distinct_predictions_per_s']:,.0f}/s with no repeated row); single: "
                  f"{s['single_predictions_per_s']:,.0f}/s; analytical {s['analytical_s_per_layer'] * 1e3:.1f} ms/layer "
                  f"(speed-up {s['speedup_single']:,.0f}× single, {s['speedup_batched']:,.0f}× batched)")
    console.print(f"wrote [bold]{output}[/bold] (metrics.csv, predictions.parquet, speed.json, parity.png)")


@surrogate_app.command("info")
def info_cmd(
    model: str = typer.Argument("default", help="Model name (surrogate/models) or folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the metadata as JSON."),
) -> None:
    """What a model was trained on: backend, data, ranges, tuned parameters, validation metrics."""
    from surrogate.model import SurrogateModel

    m = SurrogateModel.load(model)
    meta = m.metadata
    if json_out:
        print_json(meta)
        return
    console.print(f"[bold]{meta.get('name')}[/bold] ({meta.get('model_id')}): backend {meta.get('backend')}, "
                  f"{meta.get('dataset', {}).get('rows', '?')} rows, features v{meta.get('feature_version')} "
                  f"({len(meta.get('features', []))}), {meta.get('train', {}).get('loss', 'squared')} loss, "
                  f"experts {', '.join(meta.get('experts') or []) or 'none (shared boosters)'}")
    import pandas as pd

    ranges = pd.DataFrame([{"column": k, "min": v[0], "max": v[1]} for k, v in meta.get("ranges", {}).items()])
    print_frame(ranges, title="training ranges")
    _print_metrics(meta.get("metrics", {}).get("validation", {}), "validation split")


def _print_metrics(val: dict, title: str) -> None:
    import pandas as pd

    if not val:
        raise MascotError("the model has no validation metrics")
    rows = [{"target": t, **{k: v for k, v in m.items()}} for t, m in val.items()]
    print_frame(pd.DataFrame(rows), title=title)


def register(app: typer.Typer) -> None:
    app.add_typer(surrogate_app, name="surrogate")
