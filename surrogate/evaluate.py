"""How good and how fast a surrogate is, on data it never saw.

Three held-out sets, each evaluated with the backend the model imitates:

* ``random`` - fresh random layer shapes (another seed) on the four Table-1 classes;
* ``zoo`` - every distinct layer of the zoo networks kept out of training (InceptionV3, YOLOv2)
  on the four Table-1 classes: the set the accuracy targets are about;
* ``hardware`` - random shapes and the held-out zoo layers on hardware variants drawn with
  another seed (not in the training pool).

For each set, target (cycles, energy, DRAM bytes), SA class and predictor (the surrogate, and when
the training data is given the two scikit-learn baselines trained on it: ridge regression on the
log features and a random forest) the report gives MAPE, R² (log10) and the share within ±10 %
(:mod:`surrogate.metrics`). Speed: predictions per second in one batch and one layer at a time
through the backend, and the analytical backend's time per layer on the same layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.io import atomic_write_json, write_frame
from mascot.plotting import pyplot, save_png
from surrogate import metrics
from surrogate.dataset import HOLDOUT_MODELS, Task, evaluate_tasks, zoo_layers
from surrogate.features import feature_matrix
from surrogate.model import SurrogateModel, from_log, to_log
from surrogate.sampling import BASE_CLASSES, HardwareConfig, sample_hardware, sample_layer

REPORT_TARGETS: tuple[str, ...] = ("cycles", "energy_pj", "dram_bytes")
SETS: tuple[str, ...] = ("random", "zoo", "hardware")


@dataclass(frozen=True)
class EvalConfig:
    """Sizes of the held-out sets and the seed they are drawn with (never the training seed 0)."""

    random_samples: int = 400
    hardware_configs: int = 12
    hardware_samples: int = 400
    holdout_models: tuple[str, ...] = HOLDOUT_MODELS
    seed: int = 1_000_003
    n_jobs: int = 2
    speed_rows: int = 100_000
    speed_single: int = 300


@dataclass(frozen=True, eq=False)
class EvalReport:
    """``metrics``: one row per (set, sa_class, target, predictor); ``speed``: the timing figures."""

    metrics: pd.DataFrame
    speed: dict[str, float]
    predictions: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def heldout_tasks(cfg: EvalConfig) -> dict[str, list[Task]]:
    """The three held-out task lists (deterministic in ``cfg.seed``)."""
    rng = np.random.default_rng(cfg.seed)
    bases = [HardwareConfig(b) for b in BASE_CLASSES]
    out: dict[str, list[Task]] = {}
    out["random"] = [Task(i, "random", sample_layer(rng, f"heldout{i}"), bases[i % 4]) for i in range(cfg.random_samples)]
    zl = zoo_layers(exclude=(), include=cfg.holdout_models)
    out["zoo"] = [Task(i * 4 + j, f"zoo:{m}", layer, hw) for i, (m, layer) in enumerate(zl) for j, hw in enumerate(bases)]
    pool = [sample_hardware(rng, BASE_CLASSES[i % 4]) for i in range(cfg.hardware_configs)]
    hw_tasks = [Task(i, "random", sample_layer(rng, f"hw{i}"), pool[i % len(pool)]) for i in range(cfg.hardware_samples)]
    hw_tasks += [Task(len(hw_tasks) + i, f"zoo:{m}", layer, pool[int(rng.integers(len(pool)))])
                 for i, (m, layer) in enumerate(zl)]
    out["hardware"] = hw_tasks
    return out


STALE_CHECK_ROWS = 8


def _cache_is_current(df: pd.DataFrame, backend: str, tasks: list[Task]) -> bool:
    """Whether a cached ground truth still matches the backend: its first rows are evaluated again.

    Why: the cache is named by the held-out sets' arguments only, and the backend's results change
    when its code does (a mapper change moved energies by up to 2.6x without a version bump); an
    evaluation against another code version's truth reports errors that are not the model's.
    """
    if len(df) != len(tasks):
        return False
    k = min(STALE_CHECK_ROWS, len(tasks))
    fresh = evaluate_tasks(backend, tasks[:k])
    for col in ("cycles", "energy_pj", "dram_read_bytes", "dram_write_bytes"):
        if not np.allclose(fresh[col].to_numpy(), df[col].to_numpy()[:k], rtol=1e-9, atol=0.0, equal_nan=True):
            return False
    return True


def evaluate_heldout(backend: str, tasks: list[Task], n_jobs: int, cache: Path | None) -> pd.DataFrame:
    """Ground truth for ``tasks``, read from ``cache`` when it is there and still current
    (:func:`_cache_is_current`), else computed and written there."""
    if cache is not None and cache.is_file():
        df = pd.read_parquet(cache)
        if _cache_is_current(df, backend, tasks):
            return df
    chunks = [tasks[i:i + 64] for i in range(0, len(tasks), 64)]
    if n_jobs > 1 and len(chunks) > 1:
        from joblib import Parallel, delayed

        frames = Parallel(n_jobs=n_jobs)(delayed(evaluate_tasks)(backend, c) for c in chunks)
    else:
        frames = [evaluate_tasks(backend, c) for c in chunks]
    df = pd.concat(frames, ignore_index=True)
    if cache is not None:
        write_frame(df, cache)
    return df


class Baselines:
    """Ridge on the log features and a random forest, one per model target, trained on the same data."""

    def __init__(self, train_df: pd.DataFrame, seed: int = 0, n_jobs: int = 2, max_rows: int = 20_000):
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if len(train_df) > max_rows:
            train_df = train_df.sample(n=max_rows, random_state=seed)
        x = feature_matrix(train_df)
        self.models: dict[str, dict[str, Any]] = {"ridge": {}, "random_forest": {}}
        for target in ("cycles", "energy_pj", "dram_read_bytes", "dram_write_bytes"):
            y = to_log(train_df[target].to_numpy())
            self.models["ridge"][target] = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x, y)
            self.models["random_forest"][target] = RandomForestRegressor(
                n_estimators=40, min_samples_leaf=2, max_features=0.5, n_jobs=n_jobs, random_state=seed,
            ).fit(x, y)

    def predict(self, name: str, x: np.ndarray) -> dict[str, np.ndarray]:
        return {t: from_log(m.predict(x)) for t, m in self.models[name].items()}


def _with_dram(pred: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {**pred, "dram_bytes": pred["dram_read_bytes"] + pred["dram_write_bytes"]}


def score_sets(model: SurrogateModel, truth: dict[str, pd.DataFrame], baselines: Baselines | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metric rows per (set, SA class incl. ``all``, target, predictor) and the per-row predictions."""
    rows, preds = [], []
    for set_name, df in truth.items():
        df = df[(df["error"] == "") & df["cycles"].notna()].reset_index(drop=True)
        if df.empty:
            continue
        x = feature_matrix(df)
        predictors = {"xgboost": _with_dram(model.predict_matrix(x))}
        if baselines is not None:
            for name in baselines.models:
                predictors[name] = _with_dram(baselines.predict(name, x))
        groups = [("all", np.ones(len(df), dtype=bool))]
        groups += [(b, (df["hw_base"] == b).to_numpy()) for b in BASE_CLASSES if (df["hw_base"] == b).any()]
        for pname, pred in predictors.items():
            for target in REPORT_TARGETS:
                true = df[target].to_numpy()
                for gname, mask in groups:
                    s = metrics.summary(true[mask], pred[target][mask])
                    rows.append({"set": set_name, "sa_class": gname, "target": target, "predictor": pname,
                                 "n": int(mask.sum()), "mape": s["mape"], "r2_log": s["r2_log"],
                                 "within_10": s["within_10"]})
        p = df[["source", "hw_base", "kind"]].copy()
        p["set"] = set_name
        for target in REPORT_TARGETS:
            p[f"{target}_true"] = df[target].to_numpy()
            p[f"{target}_pred"] = predictors["xgboost"][target]
        preds.append(p)
    return pd.DataFrame(rows), (pd.concat(preds, ignore_index=True) if preds else pd.DataFrame())


def measure_speed(model: SurrogateModel, truth: pd.DataFrame, cfg: EvalConfig, analytical: str = "analytical") -> dict[str, float]:
    """Predictions/s batched and single, analytical seconds per layer, and the speed-ups."""
    from hwmodel.cost import get_backend
    from surrogate.backend import SurrogateBackend

    ok = truth[truth["error"] == ""].reset_index(drop=True)
    reps = int(np.ceil(cfg.speed_rows / max(len(ok), 1)))
    big = pd.concat([ok] * reps, ignore_index=True).iloc[: cfg.speed_rows]
    model.predict_frame(big.iloc[:1000], check_ranges=False)  # warm-up
    t = time.perf_counter()
    model.predict_frame(big, check_ranges=False)
    batched_s = time.perf_counter() - t
    # the same rows made all distinct (batch N = 1, 2, ... per repetition): repeated rows are predicted once,
    # so this is the boosters' raw speed, the figure for a data set with no repeated shape
    distinct = big.copy()
    n_rep = 1 + distinct.index.to_numpy() // max(len(ok), 1)
    distinct["N"] = n_rep
    for col in ("input_elements", "output_elements"):
        distinct[col] = distinct[col] * n_rep
    t = time.perf_counter()
    model.predict_frame(distinct, check_ranges=False)
    distinct_s = time.perf_counter() - t

    backend = SurrogateBackend(model)
    tasks = heldout_tasks(EvalConfig(random_samples=0, hardware_samples=0, hardware_configs=1,
                                     holdout_models=cfg.holdout_models, seed=cfg.seed))["zoo"]
    mac_tasks = [t for t in tasks if t.layer.is_mac]
    specs = {b: HardwareConfig(b).build() for b in BASE_CLASSES}
    single = mac_tasks[: cfg.speed_single]
    for base, spec in specs.items():  # warm-up: each dataflow's numpy forest is compiled on first use
        backend.evaluate(single[0].layer, spec)
    t = time.perf_counter()
    for task in single:
        backend.evaluate(task.layer, specs[task.hw.base])
    single_s = (time.perf_counter() - t) / len(single)

    ana = get_backend(analytical)
    sample = mac_tasks[:: max(1, len(mac_tasks) // 40)][:40]
    ana.evaluate(sample[0].layer, specs[sample[0].hw.base])
    t = time.perf_counter()
    for task in sample:
        ana.evaluate(task.layer, specs[task.hw.base])
    ana_s = (time.perf_counter() - t) / len(sample)
    return {
        "batched_predictions_per_s": len(big) / batched_s,
        "batched_rows": float(len(big)),
        "batched_distinct_predictions_per_s": len(distinct) / distinct_s,
        "single_predictions_per_s": 1.0 / single_s,
        "single_s_per_layer": single_s,
        "analytical_s_per_layer": ana_s,
        "speedup_single": ana_s / single_s,
        "speedup_batched": ana_s / (batched_s / len(big)),
    }


def parity_plot(preds: pd.DataFrame, path: Path) -> Path:
    """True vs predicted (log-log) per target, coloured by held-out set, with the ±10 % band."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(REPORT_TARGETS), figsize=(5 * len(REPORT_TARGETS), 4.8))
    colors = {"random": "tab:blue", "zoo": "tab:red", "hardware": "tab:green"}
    for ax, target in zip(np.atleast_1d(axes), REPORT_TARGETS):
        for set_name, grp in preds.groupby("set", sort=False):
            ax.scatter(grp[f"{target}_true"], grp[f"{target}_pred"], s=5, alpha=0.5, label=set_name,
                       color=colors.get(str(set_name)))
        lo = max(1.0, float(np.nanmin(preds[f"{target}_true"])))
        hi = float(np.nanmax(preds[f"{target}_true"]))
        line = np.array([lo, hi])
        ax.plot(line, line, "k-", lw=0.8)
        ax.fill_between(line, line * 0.9, line * 1.1, color="grey", alpha=0.3, label="±10 %")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{target} (analytical)")
        ax.set_ylabel(f"{target} (surrogate)")
        ax.set_title(target)
        ax.legend(loc="upper left", fontsize=8)
    save_png(fig, path)
    return path


def run_eval(model: SurrogateModel, output: str | Path, cfg: EvalConfig = EvalConfig(),
             train_data: pd.DataFrame | None = None, progress: Any = None) -> EvalReport:
    """Build (or reuse) the held-out sets, score them, time the model, write the report files.

    Files in ``output``: ``heldout_<set>.parquet`` (ground truth, reused by later runs with the same
    config), ``metrics.csv``, ``predictions.parquet``, ``speed.json``, ``parity.png``.
    """
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    backend = model.metadata.get("backend", {}).get("name", "analytical") or "analytical"
    arg = model.metadata.get("backend", {}).get("arg", "")
    backend_ref = f"{backend}:{arg}" if arg else backend
    tasks = heldout_tasks(cfg)
    truth = {}
    for set_name in SETS:
        if progress is not None:
            progress(f"evaluating held-out set {set_name} ({len(tasks[set_name])} pairs) with {backend_ref}")
        tag = f"{cfg.seed}-{len(tasks[set_name])}-{'+'.join(cfg.holdout_models)}"
        truth[set_name] = evaluate_heldout(backend_ref, tasks[set_name], cfg.n_jobs, out / f"heldout_{set_name}-{tag}.parquet")
    baselines = None
    if train_data is not None:
        if progress is not None:
            progress(f"training the baselines on {len(train_data):,} rows")
        baselines = Baselines(train_data, n_jobs=cfg.n_jobs)
    table, preds = score_sets(model, truth, baselines)
    if progress is not None:
        progress("timing")
    speed = measure_speed(model, truth["zoo"], cfg, analytical=backend_ref)
    write_frame(table, out / "metrics.csv")
    write_frame(preds, out / "predictions.parquet")
    atomic_write_json(out / "speed.json", speed)
    parity_plot(preds, out / "parity.png")
    return EvalReport(metrics=table, speed=speed, predictions=preds)
