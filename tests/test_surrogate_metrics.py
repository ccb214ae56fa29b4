"""The accuracy figures against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surrogate import metrics


def test_mape_hand_computed():
    # relative errors 0.1, 0.5, 0.0 -> mean 0.2 -> 20 %
    assert metrics.mape(np.array([10.0, 4.0, 7.0]), np.array([11.0, 2.0, 7.0])) == pytest.approx(20.0)


def test_within_10_counts_the_boundary():
    # errors 0.10 (in), 0.05 (in), 0.20 (out), 0.0 (in) -> 75 %
    true = np.array([100.0, 100.0, 100.0, 3.0])
    pred = np.array([110.0, 95.0, 80.0, 3.0])
    assert metrics.within(true, pred) == pytest.approx(75.0)


def test_r2_hand_computed():
    # mean 2, SS_tot = 2, SS_res = 0.25 + 0 + 0.25 = 0.5 -> R2 = 0.75
    assert metrics.r2(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5])) == pytest.approx(0.75)


def test_r2_log_uses_log10():
    true = np.array([10.0, 100.0, 1000.0])  # log10: 1 2 3
    pred = np.array([10 ** 1.5, 100.0, 10 ** 2.5])  # log10: 1.5 2 2.5
    assert metrics.r2_log(true, pred) == pytest.approx(0.75)


def test_perfect_and_degenerate_cases():
    y = np.array([5.0, 50.0, 500.0])
    s = metrics.summary(y, y)
    assert s == {"mape": 0.0, "within_10": 100.0, "r2_log": 1.0, "n": 3.0}
    assert math.isnan(metrics.r2(np.array([2.0, 2.0]), np.array([1.0, 3.0])))
    assert math.isnan(metrics.mape(np.array([]), np.array([])))
