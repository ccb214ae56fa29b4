"""Request traces: arrival statistics, model mix, QoS factors, reproducibility, file round trips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mascot.errors import MascotError
from workloads.traces import (
    COLUMNS,
    DEFAULT_MEDIUM_QOS_FACTOR,
    DEFAULT_PARETO_SHAPE,
    QOS_LEVELS,
    QOS_MULTIPLIERS,
    Trace,
    generate_trace,
    load_trace,
    parse_qos_mix,
    save_trace,
    validate_frame,
)

MODELS = ["squeezenet", "resnet50", "kws"]


def gaps_of(trace: Trace) -> np.ndarray:
    return np.diff(trace.frame["arrival_s"].to_numpy(), prepend=0.0)


# --- statistics ------------------------------------------------------------------------
@pytest.mark.parametrize("shape, tolerance", [(3.0, 0.01), (DEFAULT_PARETO_SHAPE, 0.03)])
def test_mean_interarrival_of_a_large_trace(shape, tolerance):
    trace = generate_trace(MODELS, duration_s=400.0, mean_interarrival_s=1e-3, pareto_shape=shape, seed=7)
    gaps = gaps_of(trace)
    assert len(trace) > 300_000
    assert gaps.mean() == pytest.approx(1e-3, rel=tolerance)
    assert trace.arrival_rate_per_s == pytest.approx(1000.0, rel=tolerance)


def test_interarrivals_follow_the_documented_lomax_law():
    shape, mean = 2.5, 0.004
    trace = generate_trace(MODELS, duration_s=400.0, mean_interarrival_s=mean, pareto_shape=shape, seed=3)
    gaps = gaps_of(trace)
    scale = mean * (shape - 1.0)
    ks = stats.kstest(gaps, stats.lomax(c=shape, scale=scale).cdf)
    assert ks.pvalue > 1e-3
    # heavy tail: P(gap > 5 × mean) = (1 + 5 mean / scale)^-shape, far above an exponential's e^-5
    expected_tail = (1 + 5 * mean / scale) ** -shape
    assert (gaps > 5 * mean).mean() == pytest.approx(expected_tail, rel=0.05)
    assert expected_tail > 3 * np.exp(-5)
    # no minimum gap (Lomax, not classic Pareto): bursts of near-simultaneous requests happen
    assert gaps.min() < 0.01 * mean


def test_model_mix_follows_the_weights():
    trace = generate_trace(MODELS, weights=[1, 2, 5], duration_s=100.0, mean_interarrival_s=5e-4, seed=11)
    share = trace.frame["model"].value_counts(normalize=True)
    for model, expected in zip(MODELS, [1 / 8, 2 / 8, 5 / 8]):
        assert share[model] == pytest.approx(expected, abs=0.005)
    assert trace.weights == pytest.approx((1 / 8, 2 / 8, 5 / 8))
    summary = trace.summary()
    assert list(summary["model"]) == MODELS
    assert summary["requests"].sum() == len(trace)
    assert summary["share"].sum() == pytest.approx(1.0)


def test_zero_weight_model_never_appears():
    trace = generate_trace(MODELS, weights=[1, 0, 1], duration_s=10.0, mean_interarrival_s=1e-3, seed=0)
    assert "resnet50" not in set(trace.frame["model"])


@pytest.mark.parametrize("level", QOS_LEVELS)
def test_single_qos_level_sets_every_factor(level):
    trace = generate_trace(MODELS, duration_s=1.0, mean_interarrival_s=1e-3, qos=level, medium_qos_factor=2.5, seed=1)
    assert set(trace.frame["qos"]) == {level}
    assert np.all(trace.frame["qos_factor"].to_numpy() == QOS_MULTIPLIERS[level] * 2.5)


def test_mixed_qos_levels_and_their_factors():
    trace = generate_trace(MODELS, duration_s=50.0, mean_interarrival_s=5e-4, qos="mixed", seed=2)
    df = trace.frame
    share = df["qos"].value_counts(normalize=True)
    for level in QOS_LEVELS:
        assert share[level] == pytest.approx(1 / 3, abs=0.01)
    factor = df.groupby("qos")["qos_factor"].unique()
    assert list(factor["low"]) == [pytest.approx(1.2 * DEFAULT_MEDIUM_QOS_FACTOR)]
    assert list(factor["medium"]) == [pytest.approx(1.0 * DEFAULT_MEDIUM_QOS_FACTOR)]
    assert list(factor["high"]) == [pytest.approx(0.8 * DEFAULT_MEDIUM_QOS_FACTOR)]


def test_qos_probabilities_as_dict_and_as_text():
    assert parse_qos_mix("low=1,high=3") == {"low": 0.25, "medium": 0.0, "high": 0.75}
    trace = generate_trace(MODELS, duration_s=50.0, mean_interarrival_s=5e-4, qos={"low": 0.2, "high": 0.8}, seed=4)
    share = trace.frame["qos"].value_counts(normalize=True)
    assert "medium" not in share
    assert share["high"] == pytest.approx(0.8, abs=0.01)


def test_trace_columns_and_ordering():
    trace = generate_trace(MODELS, duration_s=2.0, mean_interarrival_s=1e-3, seed=5)
    df = trace.frame
    assert tuple(df.columns) == COLUMNS
    assert df["job_id"].dtype == np.int64 and df["arrival_s"].dtype == np.float64
    assert np.array_equal(df["job_id"].to_numpy(), np.arange(len(df)))
    arrival = df["arrival_s"].to_numpy()
    assert np.all(np.diff(arrival) >= 0) and arrival[0] >= 0 and arrival[-1] < 2.0
    assert trace.duration_s == 2.0 and trace.seed == 5 and trace.pareto_shape == DEFAULT_PARETO_SHAPE


@settings(max_examples=30, deadline=None)
@given(
    shape=st.floats(1.05, 8.0),
    mean=st.floats(1e-4, 1.0),
    horizon=st.floats(0.5, 500.0),
    seed=st.integers(0, 2**32),
)
def test_any_valid_parameters_give_a_valid_trace(shape, mean, horizon, seed):
    duration = horizon * mean
    trace = generate_trace(MODELS, duration_s=duration, mean_interarrival_s=mean, pareto_shape=shape, seed=seed)
    arrival = trace.frame["arrival_s"].to_numpy()
    assert np.all(arrival < duration) and np.all(np.diff(arrival) >= 0)
    assert validate_frame(trace.frame).equals(trace.frame)


def test_deadlines_from_isolated_latencies():
    trace = generate_trace(MODELS, duration_s=1.0, mean_interarrival_s=1e-2, qos="mixed", medium_qos_factor=2.0, seed=8)
    latency = {"squeezenet": 1e-3, "resnet50": 8e-3, "kws": 1e-4}
    deadlines = trace.deadlines_s(latency)
    df = trace.frame
    for row, deadline in zip(df.itertuples(), deadlines):
        factor = {"low": 2.4, "medium": 2.0, "high": 1.6}[row.qos]
        assert deadline == pytest.approx(row.arrival_s + factor * latency[row.model])
    with pytest.raises(MascotError, match="resnet50"):
        trace.deadlines_s({"squeezenet": 1.0, "kws": 1.0})


def test_empty_trace_is_valid(tmp_path):
    trace = generate_trace(MODELS, duration_s=1e-6, mean_interarrival_s=1.0, seed=0)
    assert len(trace) == 0 and trace.arrival_rate_per_s == 0.0
    assert list(trace.summary()["requests"]) == [0, 0, 0]
    assert load_trace(save_trace(trace, tmp_path / "empty.parquet")).equals(trace)
    assert load_trace(save_trace(trace, tmp_path / "empty.json")).equals(trace)


# --- reproducibility -------------------------------------------------------------------
def test_same_seed_gives_a_bit_identical_trace():
    kwargs = dict(weights=[3, 1, 1], duration_s=5.0, mean_interarrival_s=1e-3, qos="mixed", seed=123)
    a, b = generate_trace(MODELS, **kwargs), generate_trace(MODELS, **kwargs)
    assert a.equals(b)
    assert a.frame["arrival_s"].to_numpy().tobytes() == b.frame["arrival_s"].to_numpy().tobytes()
    c = generate_trace(MODELS, **{**kwargs, "seed": 124})
    assert not np.array_equal(a.frame["arrival_s"].to_numpy()[:10], c.frame["arrival_s"].to_numpy()[:10])


def test_changing_the_mix_keeps_the_arrival_times():
    a = generate_trace(MODELS, duration_s=5.0, mean_interarrival_s=1e-3, qos="high", seed=9)
    b = generate_trace(["alexnet"], duration_s=5.0, mean_interarrival_s=1e-3, qos="mixed", seed=9)
    assert a.frame["arrival_s"].to_numpy().tobytes() == b.frame["arrival_s"].to_numpy().tobytes()


# --- argument validation ---------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(pareto_shape=1.0), "pareto_shape"),
        (dict(pareto_shape=float("nan")), "pareto_shape"),
        (dict(mean_interarrival_s=0.0), "mean_interarrival_s"),
        (dict(duration_s=-1.0), "duration_s"),
        (dict(weights=[1, 2]), "weight"),
        (dict(weights=[1, -1, 1]), "weights"),
        (dict(qos="urgent"), "QoS"),
        (dict(qos={"urgent": 1.0}), "urgent"),
        (dict(qos="low=x"), "low=x"),
        (dict(medium_qos_factor=0), "medium_qos_factor"),
        (dict(seed=-1), "seed"),
        (dict(duration_s=1e9, mean_interarrival_s=1e-3), "requests"),
    ],
)
def test_bad_arguments_raise_mascot_error(kwargs, words):
    args = dict(duration_s=1.0, mean_interarrival_s=1e-3, seed=0) | kwargs
    with pytest.raises(MascotError, match=words):
        generate_trace(MODELS, **args)


def test_bad_model_lists():
    with pytest.raises(MascotError, match="twice"):
        generate_trace(["a", "a"], duration_s=1.0, mean_interarrival_s=0.1)
    with pytest.raises(MascotError, match="empty"):
        generate_trace([], duration_s=1.0, mean_interarrival_s=0.1)
    with pytest.raises(MascotError, match="unknown workload set 'medium-ish'"):
        generate_trace("medium-ish", duration_s=1.0, mean_interarrival_s=0.1)


# --- the paper's workload sets (from the zoo) -------------------------------------------
def test_workload_sets_of_the_paper():
    from workloads.zoo import WORKLOAD_SETS, model_names, resolve_name

    assert set(WORKLOAD_SETS) >= {"light", "heavy", "mixed"}
    assert set(WORKLOAD_SETS["mixed"]) == set(WORKLOAD_SETS["light"]) | set(WORKLOAD_SETS["heavy"])
    assert len(WORKLOAD_SETS["light"]) == 3 and len(WORKLOAD_SETS["heavy"]) == 4
    assert {resolve_name(m) for m in WORKLOAD_SETS["mixed"]} <= set(model_names())
    for name, members in WORKLOAD_SETS.items():
        trace = generate_trace(name, duration_s=20.0, mean_interarrival_s=1e-3, seed=0)
        assert trace.workload_set == name and trace.models == tuple(members)
        assert set(trace.frame["model"]) == set(members)
        share = trace.frame["model"].value_counts(normalize=True)
        assert share.to_numpy() == pytest.approx(np.full(len(members), 1 / len(members)), abs=0.02)


# --- files -----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_file_round_trip(tmp_path, suffix):
    trace = generate_trace(MODELS, weights=[1, 2, 3], duration_s=3.0, mean_interarrival_s=1e-3, qos="mixed",
                           medium_qos_factor=2.0, seed=42)
    path = save_trace(trace, tmp_path / f"sub/trace{suffix}")
    back = load_trace(path)
    assert back.equals(trace)
    assert back.frame["arrival_s"].to_numpy().tobytes() == trace.frame["arrival_s"].to_numpy().tobytes()
    assert back.metadata() == trace.metadata()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # atomic: no temporary left behind


def test_parquet_keeps_metadata_in_the_schema(tmp_path):
    trace = generate_trace(MODELS, duration_s=1.0, mean_interarrival_s=1e-3, seed=1)
    path = save_trace(trace, tmp_path / "t.parquet")
    meta = json.loads(pq.read_schema(path).metadata[b"mascot.trace"])
    assert meta["seed"] == 1 and meta["models"] == MODELS and meta["format"] == "mascot.trace"
    # readable by any Parquet reader as a plain table
    assert list(pd.read_parquet(path).columns) == list(COLUMNS)


def test_hand_made_parquet_without_metadata_loads(tmp_path):
    df = pd.DataFrame({"job_id": [0, 1], "arrival_s": [0.0, 0.5], "model": ["resnet50", "kws"],
                       "qos": ["low", "high"], "qos_factor": [2.4, 1.6]})
    df.to_parquet(tmp_path / "t.parquet", index=False)
    trace = load_trace(tmp_path / "t.parquet")
    assert len(trace) == 2 and trace.seed is None and trace.span_s == 0.5
    assert trace.arrival_rate_per_s == pytest.approx(4.0)


def _write_table(path, **overrides):
    data = {"job_id": [0, 1], "arrival_s": [0.0, 0.5], "model": ["a", "b"], "qos": ["low", "high"],
            "qos_factor": [2.4, 1.6]} | overrides
    data = {k: v for k, v in data.items() if v is not None}
    pq.write_table(pa.table(data), path)
    return path


@pytest.mark.parametrize(
    "overrides, column",
    [
        (dict(qos=None), "qos"),
        (dict(arrival_s=["0", "1"]), "arrival_s"),
        (dict(qos=["low", "urgent"]), "qos"),
        (dict(model=[1, 2]), "model"),
        (dict(job_id=[0.0, 1.0]), "job_id"),
        (dict(job_id=[1, 0]), "job_id"),
        (dict(arrival_s=[1.0, 0.5]), "arrival_s"),
        (dict(qos_factor=[1.0, -1.0]), "qos_factor"),
        (dict(qos_factor=[1.0, float("nan")]), "qos_factor"),
    ],
)
def test_not_a_trace_names_file_and_column(tmp_path, overrides, column):
    path = _write_table(tmp_path / "bad.parquet", **overrides)
    with pytest.raises(MascotError) as info:
        load_trace(path)
    assert str(path) in str(info.value) and column in str(info.value)


def test_unreadable_files(tmp_path):
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(b"this is not parquet")
    with pytest.raises(MascotError, match="g.parquet"):
        load_trace(garbage)
    bad_json = tmp_path / "b.json"
    bad_json.write_text("{not json")
    with pytest.raises(MascotError, match="b.json"):
        load_trace(bad_json)
    bad_json.write_text(json.dumps({"requests": {"job_id": [0]}}))
    with pytest.raises(MascotError, match="arrival_s"):
        load_trace(bad_json)
    with pytest.raises(MascotError, match="not found"):
        load_trace(tmp_path / "missing.parquet")
    with pytest.raises(MascotError, match=".csv"):
        load_trace(tmp_path / "trace.csv")
