"""The comparison figures of the RELMAS study: paired differences and the headline summary, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scheduler.relmas.evaluate import paired_differences, summarise


def _runs() -> pd.DataFrame:
    rows = []
    # heavy/low: RELMAS minus PREMA-H per trace = +0.02, 0, -0.01, +0.03 (points: 2, 0, -1, 3)
    for seed, (r, p, h) in enumerate([(0.80, 0.78, 0.50), (0.70, 0.70, 0.40), (0.60, 0.61, 0.30), (0.90, 0.87, 0.60)]):
        for pol, v in (("relmas:x", r), ("prema-h", p), ("herald", h)):
            rows.append({"scenario": "heavy/low", "workload": "heavy", "qos": "low", "seed": seed, "policy": pol,
                         "sla_satisfaction": v, "decision_time_mean_s": 1e-3, "decision_time_per_sj_s": 1e-5})
    return pd.DataFrame(rows)


def test_paired_differences_match_a_hand_computed_t_interval():
    out = paired_differences(_runs(), "relmas:x", ["prema-h", "herald"])
    row = out[out["baseline"] == "prema-h"].iloc[0]
    d = np.array([2.0, 0.0, -1.0, 3.0])
    half = 3.182446305284263 * d.std(ddof=1) / 2.0  # t(0.975, 3) × s / sqrt(4)
    assert row["traces"] == 4 and row["diff_points"] == pytest.approx(1.0)
    assert row["ci_low"] == pytest.approx(1.0 - half) and row["ci_high"] == pytest.approx(1.0 + half)
    assert (row["wins"], row["ties"], row["losses"]) == (2, 1, 1)
    herald = out[out["baseline"] == "herald"].iloc[0]
    assert herald["diff_points"] == pytest.approx(30.0) and herald["wins"] == 4


def test_summary_geomean_and_scenarios_at_or_above():
    s = summarise(_runs(), "relmas:x")
    assert s["sla"].loc[("heavy", "low"), "relmas:x"] == pytest.approx(0.75)
    # one scenario: geometric mean of one ratio = the ratio of the means
    assert s["headline"]["geomean_vs_prema_h_pct"] == pytest.approx((0.75 / 0.74 - 1) * 100)
    assert s["headline"]["geomean_vs_herald_pct"] == pytest.approx((0.75 / 0.45 - 1) * 100)
    assert s["headline"]["scenarios_at_or_above"] == {"prema-h": 1, "herald": 1}
