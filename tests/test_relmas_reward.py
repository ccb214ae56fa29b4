"""The paper's reward equation against hand-computed cases (α 0.10, β 0.11, γ 0.05, δ 0.01)."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler.relmas.reward import RewardWeights, paper_reward


def test_hit_within_the_period():
    # arrival 0, q = 10, finish 4 < t + Ts = 5: Δ = 1, A = α, slack (10 − 4) / 10 = 0.6
    r = paper_reward(0.0, 5.0, np.array([4.0]), np.array([0.0]), np.array([10.0]))
    assert r == pytest.approx(0.10 + 0.05 * 0.6)


def test_hit_after_the_period_is_weighted_by_delta():
    # finish 8 ≥ 5: Δ = δ = 0.01; slack 0.2
    r = paper_reward(0.0, 5.0, np.array([8.0]), np.array([0.0]), np.array([10.0]))
    assert r == pytest.approx(0.01 * (0.10 + 0.05 * 0.2))


def test_late_finish_is_a_miss_with_negative_slack():
    # arrival 2, deadline 6 (q = 4), finish 7 ≥ t + Ts = 10? no: 7 < 10 -> Δ = 1; A = −β; slack (6 − 7) / 4
    r = paper_reward(5.0, 5.0, np.array([7.0]), np.array([2.0]), np.array([6.0]))
    assert r == pytest.approx(-0.11 + 0.05 * (-0.25))


def test_dropped_sj_scores_a_miss_at_its_deadline():
    # never ran (NaN): f := deadline 6 -> slack 0, A = −β; deadline 6 < 10 -> Δ = 1
    assert paper_reward(5.0, 5.0, np.array([np.nan]), np.array([2.0]), np.array([6.0])) == pytest.approx(-0.11)
    # deadline beyond the period: Δ = δ
    assert paper_reward(0.0, 5.0, np.array([np.nan]), np.array([2.0]), np.array([6.0])) == pytest.approx(-0.0011)


def test_sum_over_the_ready_queue_and_custom_weights():
    f = np.array([4.0, 8.0, np.nan])
    a = np.zeros(3)
    d = np.array([10.0, 10.0, 3.0])
    expected = (0.10 + 0.05 * 0.6) + 0.01 * (0.10 + 0.05 * 0.2) + (-0.11)
    assert paper_reward(0.0, 5.0, f, a, d) == pytest.approx(expected)
    w = RewardWeights(alpha=1.0, beta=2.0, gamma=0.0, delta=0.5)
    assert paper_reward(0.0, 5.0, f, a, d, w) == pytest.approx(1.0 + 0.5 * 1.0 - 2.0)
    assert paper_reward(0.0, 5.0, np.array([]), np.array([]), np.array([])) == 0.0
