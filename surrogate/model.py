"""The learned cost model: XGBoost regressors per target (and dataflow), trained in log space, saved as a folder.

Why log space: cycles, energy and DRAM bytes span eight orders of magnitude and the errors that
matter are relative; an error on ``log(y)`` is (to first order) a relative error.

Why an absolute (L1) loss by default (``TrainConfig.loss``): the targets come from a mapper that
minimises delay first, so neighbouring shapes can cost very differently - a 1×1 conv C1024 M424
13×13 on eyeriss_small takes 136 pJ/MAC under its delay-optimal mapping, M425 13 pJ/MAC (424 = 8·53
leaves no balanced tiling). A squared loss pulls every leaf toward such rows; the L1 loss fits the
conditional median of log(y / floor) and leaves them as outliers, which is what the reported
errors (MAPE, share within ±10 %) reward. Measured on the held-out InceptionV3 + YOLOv2 layers of
the Table-1 classes: energy within ±10 % 94.8 % (squared) → 96.6 % (absolute), DRAM 78.7 → 82.7 %.

A model folder (``MODEL/``) holds:

* ``<target>.json.gz`` - the XGBoost booster of each target in XGBoost's own JSON format, gzipped
  (4× smaller: the shipped default stays a few MB; a plain ``<target>.json`` loads too); a model
  with dataflow experts holds ``<target>@<dataflow>.json.gz`` instead, one per (target, dataflow);
* ``metadata.json`` - ``format``, ``feature_version`` and the ``features`` list, ``targets``,
  ``offsets`` (per target, the log2 feature it is learned relative to: a booster predicts
  ``log(y) - ln 2 × feature``, see :func:`target_offsets`), ``vector_rows`` (``closed_form``:
  vector layers are predicted by their offsets alone, the boosters learn the MAC layers),
  ``ranges`` (min/max of the hardware parameters and layer sizes seen in training), ``backend``
  (the backend imitated, its version and objective), ``spec_hash`` (content hash of each Table-1
  class the data was generated around), ``dataset`` (rows, plan), ``params`` (the Optuna-tuned
  hyper-parameters per target), ``metrics`` (validation MAPE etc.), ``model_id`` (a hash of the
  boosters, used in cache keys) and ``experts`` (the dataflows with boosters of their own, in
  order; absent or empty: one booster per target for every dataflow).

Why experts per dataflow: a row-stationary and a weight-stationary array map a layer so
differently that trees shared between them learned spurious interactions (on the simba classes
the shared model predicted +19 % energy for every layer whose output side is a prime, a jump only
the row-stationary mapper has); split per dataflow, each expert sees only its own mapper.

Loading checks the feature definition: a model trained on other features is a
:class:`~mascot.errors.MascotError` (its predictions would be garbage, silently). Predicting
outside the recorded ranges warns (:class:`SurrogateRangeWarning`): trees do not extrapolate.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write_bytes, atomic_write_json
from surrogate import metrics
from surrogate.features import DATAFLOWS, FEATURE_VERSION, FEATURES, OFFSET_FEATURES, feature_matrix, range_values

FORMAT_VERSION = 1
MODEL_TARGETS: tuple[str, ...] = ("cycles", "energy_pj", "dram_read_bytes", "dram_write_bytes")
MODELS_DIR = Path(__file__).resolve().parent / "models"
METADATA_FILE = "metadata.json"


# up to this many distinct rows the numpy forest beats XGBoost's per-call overhead (measured: ~0.5 ms
# for one row on the default model against ~3 ms per booster call)
SMALL_BATCH_ROWS = 8
# a dataflow gets its own boosters when the training data holds at least this many of its MAC rows
MIN_EXPERT_ROWS = 50
_DATAFLOW_CODE = FEATURES.index("dataflow_code")
_HASH_WEIGHTS = np.random.default_rng(0x5EED).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(distinct rows, inverse)`` with ``uniq[inverse] == x`` bitwise; ``inverse`` is None if all differ.

    A 64-bit hash of each row's bits is sorted (much cheaper than ``np.unique(axis=0)``) and the
    result verified bit for bit, so a hash collision only costs the de-duplication, never a
    wrong row.
    """
    n = x.shape[0]
    if n < 2 or x.ndim != 2 or x.shape[1] > len(_HASH_WEIGHTS):
        return x, None
    bits = x.view(np.uint32)
    key = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(x.shape[1]):
            key += bits[:, j].astype(np.uint64) * _HASH_WEIGHTS[j]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if len(first) == n:
        return x, None
    uniq = x[first]
    if not np.array_equal(uniq.view(np.uint32)[inverse.reshape(-1)], bits):
        return x, None
    return uniq, inverse.reshape(-1)


class SurrogateRangeWarning(UserWarning):
    """A query lies outside the ranges the model was trained on (the prediction is an extrapolation)."""


def to_log(y: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(y, dtype=np.float64), 1.0))


def from_log(z: np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(z, dtype=np.float64))


_LN2 = float(np.log(2.0))
_IS_VECTOR = FEATURES.index("is_vector")
VECTOR_CLOSED_FORM = "closed_form"


def _closed_form_rows(x: np.ndarray, metadata: dict[str, Any]) -> np.ndarray | None:
    """Rows predicted by their analytical floor alone (vector layers, when the model says so), or None.

    Why: a vector layer's cost is a closed form (:mod:`hwmodel.vector_cost`) that its offsets
    already reproduce (cycles and DRAM bytes exactly, energy within a block's rounding); leaving
    them to trees shared with the MAC layers added up to ±40 % of noise on held-out pooling layers.
    """
    if metadata.get("vector_rows") != VECTOR_CLOSED_FORM:
        return None
    return x[:, _IS_VECTOR] == 1.0


def _add_offset(z: np.ndarray, off: np.ndarray | None, closed: np.ndarray | None) -> np.ndarray:
    """Booster margins (float32) → natural-log predictions: closed-form rows get 0, then the offset."""
    if off is None:
        return z
    z = z.astype(np.float64)
    if closed is not None:
        z = np.where(closed, 0.0, z)
    return z + off


def target_offsets(x: np.ndarray, offsets: dict[str, str]) -> dict[str, np.ndarray]:
    """Natural-log offset of each target: ``ln 2 × x[:, feature]`` for the ``{target: log2 feature}`` map.

    Why: the boosters learn ``log(y) - offset`` (the ratio of the cost to an analytical floor such
    as MACs / busy MAC units), which is small and smooth, so fewer, shallower trees reach a lower
    error than on ``log(y)`` itself. The map is stored in the model's metadata.
    """
    return {t: np.asarray(x[:, FEATURES.index(f)], dtype=np.float64) * _LN2 for t, f in offsets.items()}


# loss name -> (XGBoost objective, the validation metric early stopping and Optuna minimise)
LOSSES: dict[str, tuple[str, str]] = {"absolute": ("reg:absoluteerror", "mae"), "squared": ("reg:squarederror", "rmse")}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: Optuna ``trials`` per target, validation share, threads, seed, tree caps.

    ``max_trees`` and ``max_depth`` bound the file size and the prediction time, as does ``min_delta``
    (the smallest validation gain in log units that counts for early stopping). ``loss`` is a key
    of :data:`LOSSES` (``absolute``: L1 on the log target, see the module docstring). ``per_dataflow``
    trains one booster per (target, dataflow) (see the module docstring); ``base_weight`` is the
    sample weight of rows on the four Table-1 classes unchanged (others weigh 1): studies run on
    those classes, so the model's capacity goes there first.
    """

    trials: int = 20
    val_fraction: float = 0.15
    n_threads: int = 2
    seed: int = 0
    max_trees: int = 600
    max_depth: int = 10
    early_stopping: int = 40
    min_delta: float = 1e-4
    timeout_s_per_target: float | None = None
    per_dataflow: bool = True
    base_weight: float = 4.0
    loss: str = "absolute"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise MascotError(f"unknown loss {self.loss!r}", hint=f"use one of {', '.join(LOSSES)}")


def slot_name(target: str, expert: str | None) -> str:
    """The key (and file stem) of the booster of ``target`` for dataflow ``expert`` (None: shared)."""
    return target if expert is None else f"{target}@{expert}"


@dataclass(frozen=True, eq=False)
class SurrogateModel:
    """Boosters per target plus the metadata that says what they were trained for."""

    boosters: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    _forests: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled numpy forests (tens of MB; a worker rebuilds them on first use)."""
        return {**self.__dict__, "_forests": {}}

    @property
    def model_id(self) -> str:
        return str(self.metadata.get("model_id", ""))

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("targets") or self.boosters)

    @property
    def experts(self) -> tuple[str, ...]:
        """Dataflows with boosters of their own (empty: one shared booster per target)."""
        return tuple(self.metadata.get("experts") or ())

    @property
    def fallback_expert(self) -> str | None:
        """The dataflow whose boosters predict rows of a dataflow without an expert (most training rows)."""
        return str(self.metadata.get("expert_fallback") or self.experts[0]) if self.experts else None

    def booster(self, target: str, expert: str | None = None) -> Any:
        return self.boosters[slot_name(target, expert if self.experts else None)]

    def expert_rows(self, x: np.ndarray) -> dict[str | None, np.ndarray]:
        """Which booster set predicts each row: ``{expert: row mask}`` (``{None: all}`` when shared).

        A row of a dataflow without an expert goes to the ``expert_fallback`` (the dataflow with the
        most training rows); :meth:`warn_out_of_range` says so.
        """
        if not self.experts:
            return {None: np.ones(len(x), dtype=bool)}
        codes = x[:, _DATAFLOW_CODE]
        own = {e: codes == float(DATAFLOWS.index(e)) for e in self.experts}
        orphan = ~np.logical_or.reduce(list(own.values()))
        if orphan.any():
            own[self.fallback_expert] |= orphan
        return {e: m for e, m in own.items() if m.any()}

    def margins(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Booster margins (float32) per target: each row through its dataflow's booster by XGBoost itself."""
        out = {t: np.empty(len(x), dtype=np.float32) for t in self.targets}
        for expert, rows in self.expert_rows(x).items():
            xr = x if rows.all() else x[rows]
            for t in self.targets:
                out[t][rows] = np.asarray(self.booster(t, expert).inplace_predict(xr), dtype=np.float32)
        return out

    # --- prediction ---------------------------------------------------------------------------
    def predict_matrix(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Predictions (original units) for a feature matrix (columns :data:`FEATURES`).

        Why not one ``inplace_predict`` per booster: tables repeat shapes (the same layer on many
        SAs, repeated blocks in a network), so identical rows are predicted once and copied back;
        and XGBoost costs milliseconds per call whatever the row count, so a few distinct rows go
        through the numpy copy of the trees (:mod:`surrogate.forest`). Both give XGBoost's float32
        margins bit for bit (``tests/test_surrogate_speed.py`` checks recorded values).
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        uniq, inverse = unique_rows(x)
        off = target_offsets(uniq, self.metadata.get("offsets", {}))
        small = len(uniq) <= SMALL_BATCH_ROWS
        margins = self._forest_margins(uniq) if small else None
        if margins is None:
            margins = self.margins(uniq)
        closed = _closed_form_rows(uniq, self.metadata)
        out = {}
        for t, z in margins.items():
            z = _add_offset(z, off.get(t), closed)
            out[t] = from_log(z if inverse is None else z[inverse])
        return out

    def _forest_margins(self, x: np.ndarray) -> dict[str, np.ndarray] | None:
        """:meth:`margins` by the numpy forests (one walk per dataflow present), or None if not compilable."""
        out = {t: np.empty(len(x), dtype=np.float32) for t in self.targets}
        for expert, rows in self.expert_rows(x).items():
            forest = self._forest(expert)
            if forest is None:
                return None
            z = forest.predict_all(x if rows.all() else x[rows])
            for k, t in enumerate(self.targets):
                out[t][rows] = z[:, k]
        return out

    def _forest(self, expert: str | None) -> Any:
        """The boosters of one dataflow (all targets) as one numpy forest, compiled on first use
        (``None`` if one cannot be reproduced)."""
        key = expert or ""
        if key not in self._forests:
            from surrogate.forest import compile_booster, merge

            parts = [compile_booster(self.booster(t, expert)) for t in self.targets]
            self._forests[key] = None if any(p is None for p in parts) else merge(parts)
        return self._forests[key]

    def predict_frame(self, df: pd.DataFrame, check_ranges: bool = True) -> dict[str, np.ndarray]:
        """Predictions for a frame of layer + ``hw_*`` columns; warns outside the training ranges."""
        if check_ranges:
            self.warn_out_of_range(df)
        return self.predict_matrix(feature_matrix(df))

    def out_of_range(self, df: pd.DataFrame) -> dict[str, tuple[float, float, float, float]]:
        """``{column: (min seen, max seen, trained min, trained max)}`` for columns outside the ranges."""
        ranges = self.metadata.get("ranges", {})
        vals = range_values(df)
        out = {}
        for col, (lo, hi) in ranges.items():
            if col not in vals or len(vals[col]) == 0:
                continue
            v = vals[col]
            vmin, vmax = float(np.min(v)), float(np.max(v))
            if vmin < lo - 1e-9 or vmax > hi + 1e-9:
                out[col] = (vmin, vmax, float(lo), float(hi))
        return out

    def warn_out_of_range(self, df: pd.DataFrame) -> None:
        if self.experts and "hw_dataflow" in df:
            unknown = sorted(set(map(str, np.unique(np.asarray(df["hw_dataflow"])))) - set(self.experts))
            if unknown:
                warnings.warn(f"surrogate model {self.metadata.get('name', '?')!r} was trained on the "
                              f"{', '.join(self.experts)} dataflows; {', '.join(unknown)} rows are predicted by the "
                              f"{self.fallback_expert} boosters (an extrapolation)",
                              SurrogateRangeWarning, stacklevel=3)
        bad = self.out_of_range(df)
        if bad:
            text = "; ".join(f"{c} in [{a:g}, {b:g}] outside the trained [{lo:g}, {hi:g}]"
                             for c, (a, b, lo, hi) in sorted(bad.items()))
            warnings.warn(f"surrogate model {self.metadata.get('name', '?')!r}: {text}; predictions extrapolate",
                          SurrogateRangeWarning, stacklevel=3)

    # --- files --------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the boosters and ``metadata.json`` atomically (file by file)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for t, b in self.boosters.items():
            data = gzip.compress(booster_json(b).encode(), compresslevel=9, mtime=0)
            atomic_write_bytes(folder / f"{t}.json.gz", data)
        atomic_write_json(folder / METADATA_FILE, self.metadata)
        return folder

    @classmethod
    def load(cls, name_or_path: str | Path) -> "SurrogateModel":
        """Load ``default`` (or another name under ``surrogate/models``) or a model folder."""
        folder = resolve_model_path(name_or_path)
        meta_path = folder / METADATA_FILE
        try:
            metadata = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise MascotError("not a surrogate model folder: metadata.json is missing", path=folder,
                              hint="train one with `mascot surrogate train DATA -o FOLDER`") from None
        except ValueError as exc:
            raise MascotError(f"metadata.json is not valid JSON ({exc})", path=meta_path) from None
        check_compatible(metadata, meta_path)
        import xgboost as xgb

        boosters = {}
        slots = [slot_name(t, e) for e in (metadata.get("experts") or [None]) for t in metadata["targets"]]
        for t in slots:
            path = folder / f"{t}.json.gz"
            if not path.is_file() and (folder / f"{t}.json").is_file():
                path = folder / f"{t}.json"
            if not path.is_file():
                raise MascotError(f"the booster {t!r} is missing", path=path,
                                  hint="copy the whole model folder, or train it again")
            b = xgb.Booster()
            try:
                raw = path.read_bytes()
                b.load_model(bytearray(gzip.decompress(raw) if path.suffix == ".gz" else raw))
            except (xgb.core.XGBoostError, OSError, EOFError) as exc:
                raise MascotError(f"cannot read the XGBoost model: {str(exc).splitlines()[0]}", path=path) from None
            b.set_param({"nthread": 1})
            boosters[t] = b
        return cls(boosters=boosters, metadata=metadata)


def booster_json(booster: Any) -> str:
    raw = booster.save_raw(raw_format="json")
    return bytes(raw).decode()


def resolve_model_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.is_dir():
        return p
    candidate = MODELS_DIR / str(name_or_path)
    if candidate.is_dir():
        return candidate
    known = sorted(q.name for q in MODELS_DIR.glob("*") if (q / METADATA_FILE).is_file()) if MODELS_DIR.is_dir() else []
    raise MascotError(f"surrogate model {str(name_or_path)!r} not found", path=p,
                      hint=f"give a model folder or one of: {', '.join(known) or '(none shipped)'}")


def check_compatible(metadata: dict[str, Any], path: Path) -> None:
    """A model for other features (or another file format) cannot be used: say so and how to fix it."""
    fmt = metadata.get("format")
    if fmt != FORMAT_VERSION:
        raise MascotError(f"model file format {fmt!r}, this mascot reads format {FORMAT_VERSION}", path=path,
                          hint="retrain the model with `mascot surrogate train`")
    feats = metadata.get("features")
    if metadata.get("feature_version") != FEATURE_VERSION or feats != list(FEATURES):
        extra = sorted(set(feats or []) - set(FEATURES))
        missing = sorted(set(FEATURES) - set(feats or []))
        detail = f" (unknown: {', '.join(extra[:5])}; missing: {', '.join(missing[:5])})" if (extra or missing) else ""
        raise MascotError(
            f"this model was trained for other features (feature version {metadata.get('feature_version')!r}, "
            f"this mascot computes version {FEATURE_VERSION!r}){detail}",
            path=path, hint="retrain it on its data set with `mascot surrogate train`",
        )
    if not metadata.get("targets"):
        raise MascotError("metadata.json lists no targets", path=path)


# ---------------------------------------------------------------------------------------------------
# training


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = max(1, int(round(n * val_fraction))) if n > 1 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _fit(xgb: Any, params: dict[str, Any], dtrain: Any, dval: Any, cfg: TrainConfig) -> Any:
    """Boost until the validation error of ``log(y)`` has not improved by ``min_delta`` for ``early_stopping``
    rounds: past that, trees buy nothing (the DRAM-write booster of the weight-stationary expert went
    from 40 to 286 trees for a 1e-6 gain) but cost file size and prediction time."""
    stop = xgb.callback.EarlyStopping(rounds=cfg.early_stopping, min_delta=cfg.min_delta)
    return xgb.train(params, dtrain, num_boost_round=cfg.max_trees, evals=[(dval, "val")], callbacks=[stop],
                     verbose_eval=False)


def _base_params(cfg: TrainConfig) -> dict[str, Any]:
    objective, metric = LOSSES[cfg.loss]
    return {"objective": objective, "tree_method": "hist", "nthread": cfg.n_threads, "seed": cfg.seed,
            "eval_metric": metric}


def tune_target(x_tr: np.ndarray, y_tr: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, cfg: TrainConfig,
                log: Any = None, w_tr: np.ndarray | None = None,
                w_val: np.ndarray | None = None) -> tuple[Any, dict[str, Any], float]:
    """Optuna (TPE, seeded) over the XGBoost knobs; the score is the (weighted) validation error of ``log(y)``
    in the loss's own metric (MAE for ``absolute``, RMSE for ``squared``)."""
    import optuna
    import xgboost as xgb

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dtrain = xgb.DMatrix(x_tr, label=y_tr, weight=w_tr, nthread=cfg.n_threads)
    dval = xgb.DMatrix(x_val, label=y_val, weight=w_val, nthread=cfg.n_threads)
    best: dict[str, Any] = {}

    def objective(trial: Any) -> float:
        params = {
            **_base_params(cfg),
            "max_depth": trial.suggest_int("max_depth", 5, cfg.max_depth),
            "eta": trial.suggest_float("eta", 0.03, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.6, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "lambda": trial.suggest_float("lambda", 1e-3, 10.0, log=True),
        }
        booster = _fit(xgb, params, dtrain, dval, cfg)
        score = float(booster.best_score)
        if not best or score < best["score"]:
            best.update(score=score, booster=booster, params={**params, "trees": booster.best_iteration + 1})
        if log is not None:
            log(trial.number, score)
        return score

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=cfg.seed))
    # start from a sensible point so even a 1-trial run is good
    study.enqueue_trial({"max_depth": min(8, cfg.max_depth), "eta": 0.1, "min_child_weight": 1.0, "subsample": 0.9,
                         "colsample_bytree": 0.8, "lambda": 1.0})
    study.optimize(objective, n_trials=max(1, cfg.trials), timeout=cfg.timeout_s_per_target)
    booster = best["booster"]
    # keep only the trees early stopping chose (smaller file, same predictions)
    booster = booster[: booster.best_iteration + 1]
    return booster, best["params"], best["score"]


def train(df: pd.DataFrame, cfg: TrainConfig = TrainConfig(), *, name: str = "model",
          dataset_info: dict[str, Any] | None = None, progress: Any = None) -> SurrogateModel:
    """Train one booster per target of :data:`MODEL_TARGETS` on a data set frame (see :mod:`surrogate.dataset`)."""
    if len(df) < 20:
        raise MascotError(f"the data set has {len(df)} usable rows; a surrogate needs at least 20",
                          hint="generate more with `mascot surrogate dataset --samples N`")
    t0 = time.perf_counter()
    x = feature_matrix(df)
    off = target_offsets(x, OFFSET_FEATURES)
    tr, val = split_indices(len(df), cfg.val_fraction, cfg.seed)
    # the boosters learn the MAC layers only; vector layers take their closed form (see _closed_form_rows)
    mac = x[:, _IS_VECTOR] == 0.0
    tr_fit, val_fit = tr[mac[tr]], val[mac[val]]
    vector_rows = VECTOR_CLOSED_FORM
    if len(tr_fit) < 10 or len(val_fit) < 2:  # (almost) no MAC layer: learn every row
        tr_fit, val_fit, vector_rows = tr, val, "learned"
    closed_val = _closed_form_rows(x[val], {"vector_rows": vector_rows})
    is_base = df["hw_is_base"].to_numpy(dtype=bool) if "hw_is_base" in df else np.zeros(len(df), dtype=bool)
    weight = np.where(is_base, cfg.base_weight, 1.0)
    experts, fallback = _choose_experts(x, tr_fit, val_fit, cfg)
    ys = {target: to_log(df[target].to_numpy()) - off[target] for target in MODEL_TARGETS}
    boosters: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for expert in experts or [None]:
        own = np.ones(len(df), dtype=bool) if expert is None else x[:, _DATAFLOW_CODE] == DATAFLOWS.index(expert)
        e_tr, e_val = tr_fit[own[tr_fit]], val_fit[own[val_fit]]
        for target, y in ys.items():
            slot = slot_name(target, expert)
            log = None if progress is None else (lambda i, score, t=slot: progress(t, i, score))
            booster, p, score = tune_target(x[e_tr], y[e_tr], x[e_val], y[e_val], cfg, log=log,
                                            w_tr=weight[e_tr], w_val=weight[e_val])
            booster.set_param({"nthread": 1})
            boosters[slot] = booster
            params[slot] = {**p, f"val_{LOSSES[cfg.loss][1]}_log": score, "rows": int(len(e_tr))}
    model = SurrogateModel(boosters=boosters, metadata={"targets": list(MODEL_TARGETS), "experts": experts,
                                                         "expert_fallback": fallback})
    val_margins = model.margins(np.ascontiguousarray(x[val], dtype=np.float32))
    val_metrics: dict[str, Any] = {}
    val_log: dict[str, np.ndarray] = {}
    for target in MODEL_TARGETS:
        val_log[target] = _add_offset(val_margins[target], off[target][val], closed_val)
        val_metrics[target] = metrics.summary(df[target].to_numpy()[val], from_log(val_log[target]))
    dram_true = df["dram_read_bytes"].to_numpy()[val] + df["dram_write_bytes"].to_numpy()[val]
    dram_pred = from_log(val_log["dram_read_bytes"]) + from_log(val_log["dram_write_bytes"])
    val_metrics["dram_bytes"] = metrics.summary(dram_true, dram_pred)
    ranges = {c: [float(np.min(v)), float(np.max(v))] for c, v in range_values(df).items()}
    model_id = hashlib.sha256("".join(booster_json(b) for b in boosters.values()).encode()).hexdigest()[:16]
    metadata = {
        "format": FORMAT_VERSION,
        "name": name,
        "model_id": model_id,
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURES),
        "targets": list(MODEL_TARGETS),
        "experts": experts,
        "expert_fallback": fallback,
        "offsets": dict(OFFSET_FEATURES),
        "vector_rows": vector_rows,
        "ranges": ranges,
        "params": params,
        "metrics": {"validation": val_metrics},
        "train": {"rows": int(len(tr)), "val_rows": int(len(val)), "trials": cfg.trials, "seed": cfg.seed,
                  "base_weight": cfg.base_weight, "loss": cfg.loss,
                  "n_threads": cfg.n_threads, "time_s": round(time.perf_counter() - t0, 1)},
        **(dataset_info or {}),
    }
    return SurrogateModel(boosters=boosters, metadata=metadata)


def _choose_experts(x: np.ndarray, tr: np.ndarray, val: np.ndarray, cfg: TrainConfig) -> tuple[list[str], str | None]:
    """The dataflows that get boosters of their own (``[]``: shared boosters) and the fallback for others.

    Experts only when ``cfg.per_dataflow`` and at least two dataflows have :data:`MIN_EXPERT_ROWS`
    training rows (and some validation rows); the fallback is the one with the most training rows.
    """
    counts = {d: int((x[tr, _DATAFLOW_CODE] == i).sum()) for i, d in enumerate(DATAFLOWS)}
    experts = [d for i, d in enumerate(DATAFLOWS)
               if counts[d] >= MIN_EXPERT_ROWS and (x[val, _DATAFLOW_CODE] == i).sum() >= 2]
    if not cfg.per_dataflow or len(experts) < 2:
        return [], None
    return experts, max(experts, key=lambda d: counts[d])


def dataset_info(data_path: str | Path, df: pd.DataFrame) -> dict[str, Any]:
    """What to record about the training data: backend, its plan, and the Table-1 spec hashes."""
    from hwmodel.spec import load_accelerator
    from surrogate.sampling import BASE_CLASSES

    folder = Path(data_path)
    plan: dict[str, Any] = {}
    plan_file = (folder if folder.is_dir() else folder.parent) / "plan.json"
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text())
    backend = str(plan.get("backend", "analytical"))
    try:
        from hwmodel.cost import get_backend

        be = get_backend(backend)
        version, objective = str(be.version), str(getattr(be, "objective", ""))
    except MascotError:
        version, objective = "", ""
    return {
        "backend": {"name": backend.partition(":")[0], "arg": backend.partition(":")[2], "version": version,
                    "objective": objective},
        "spec_hash": {b: load_accelerator(b).content_hash for b in BASE_CLASSES},
        "dataset": {"rows": int(len(df)), "plan": plan,
                    "sources": {k: int(v) for k, v in df["source"].str.split(":").str[0].value_counts().items()}},
    }
