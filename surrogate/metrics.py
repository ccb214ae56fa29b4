"""Accuracy figures of a cost predictor, defined once so reports, tests and tuning agree.

* ``mape``: mean absolute percentage error, ``100 × mean(|pred - true| / true)`` (targets are
  positive: cycles, energy, bytes; a zero true value is counted against 1).
* ``within_10``: share (%) of predictions whose relative error is at most 10 %.
* ``r2``: the coefficient of determination of ``log10`` values, ``1 - SS_res / SS_tot``. In log
  space because the targets span eight orders of magnitude: a raw-space R² would only measure the
  largest layers.
"""

from __future__ import annotations

import numpy as np


def relative_errors(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    t = np.maximum(np.asarray(y_true, dtype=np.float64), 1.0)
    return np.abs(np.asarray(y_pred, dtype=np.float64) - t) / t


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error in percent."""
    return float(100.0 * relative_errors(y_true, y_pred).mean()) if len(y_true) else float("nan")


def within(y_true: np.ndarray, y_pred: np.ndarray, tolerance: float = 0.10) -> float:
    """Share of predictions (percent) with a relative error of at most ``tolerance``."""
    return float(100.0 * (relative_errors(y_true, y_pred) <= tolerance + 1e-12).mean()) if len(y_true) else float("nan")


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (plain, of the values given)."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    ss_tot = float(((t - t.mean()) ** 2).sum())
    if len(t) < 2 or ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(((t - p) ** 2).sum()) / ss_tot


def r2_log(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """R² of ``log10`` values (see the module docstring)."""
    return r2(np.log10(np.maximum(y_true, 1.0)), np.log10(np.maximum(y_pred, 1.0)))


def summary(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``{"mape", "within_10", "r2_log", "n"}`` of one target."""
    return {"mape": mape(y_true, y_pred), "within_10": within(y_true, y_pred), "r2_log": r2_log(y_true, y_pred),
            "n": float(len(y_true))}
