"""The parts of :mod:`workloads.traces` (arrivals, QoS, record, files) and what the split keeps.

``test_workloads_traces.py`` checks the statistics and the files through ``workloads.traces``;
these tests pin the old import path, the parts' own contracts, and one drawn trace bit for bit
(its digest was taken before the module was split, so a refactor that changes a draw fails here).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import workloads.trace_arrivals as arrivals
import workloads.trace_io as trace_io
import workloads.trace_qos as qos
import workloads.trace_record as record
import workloads.traces as traces
from mascot.errors import MascotError


def test_every_public_name_of_the_parts_is_importable_from_traces():
    for part in (arrivals, qos, record, trace_io):
        for name in dir(part):
            if name.startswith("_") or not hasattr(getattr(part, name), "__module__"):
                continue
            if getattr(getattr(part, name), "__module__", None) == part.__name__:
                assert getattr(traces, name) is getattr(part, name), f"{part.__name__}.{name}"
                assert name in traces.__all__
    for name in ("QOS_LEVELS", "QOS_MULTIPLIERS", "DEFAULT_MEDIUM_QOS_FACTOR", "DEFAULT_PARETO_SHAPE",
                 "MAX_REQUESTS", "COLUMNS", "FORMAT_NAME", "FORMAT_VERSION"):
        assert name in traces.__all__ and hasattr(traces, name)


def _digest(trace: traces.Trace) -> str:
    f = trace.frame
    h = hashlib.sha256()
    h.update(f["arrival_s"].to_numpy().tobytes())
    h.update("|".join(f["model"]).encode())
    h.update("|".join(f["qos"]).encode())
    h.update(f["qos_factor"].to_numpy().tobytes())
    return h.hexdigest()


def test_a_drawn_trace_is_bit_identical_to_the_one_before_the_split():
    trace = traces.generate_trace(["kws", "resnet50", "squeezenet"], weights=[1, 2, 1], duration_s=0.5,
                                  mean_interarrival_s=1e-3, qos="mixed", seed=7)
    assert len(trace) == 393
    assert trace.frame["arrival_s"].iloc[0] == 0.0008196979394128071
    assert trace.frame["arrival_s"].iloc[-1] == 0.49932085293456396
    assert _digest(trace) == "dd7107ce299ada447cf434f50199ab6a7ec8d37fbb567b734bfe4ed5be8e1782"


def test_qos_factors_follow_the_levels():
    assert qos.qos_factors(2.5).tolist() == [pytest.approx(3.0), 2.5, pytest.approx(2.0)]
    trace = traces.generate_trace(["kws"], duration_s=0.2, mean_interarrival_s=1e-3, qos="mixed",
                                  medium_qos_factor=2.5, seed=1)
    by_level = dict(zip(qos.QOS_LEVELS, qos.qos_factors(2.5)))
    assert (trace.frame["qos_factor"].to_numpy() == trace.frame["qos"].map(by_level).to_numpy()).all()


def test_deadlines_function_and_method_agree():
    trace = traces.generate_trace(["kws", "squeezenet"], duration_s=0.1, mean_interarrival_s=1e-3, seed=3)
    latency = {"kws": 1e-4, "squeezenet": 2e-3}
    expected = trace.frame["arrival_s"].to_numpy() + trace.frame["qos_factor"].to_numpy() * \
        trace.frame["model"].map(latency).to_numpy()
    assert np.array_equal(qos.deadlines_s(trace.frame, latency), expected)
    assert np.array_equal(trace.deadlines_s(latency), expected)
    with pytest.raises(MascotError, match="squeezenet"):
        qos.deadlines_s(trace.frame, {"kws": 1.0})


def test_arrival_times_stay_inside_the_horizon_and_repeat_with_the_seed():
    a = arrivals.arrival_times(np.random.default_rng(5), 0.3, 1e-3, 2.0)
    b = arrivals.arrival_times(np.random.default_rng(5), 0.3, 1e-3, 2.0)
    assert np.array_equal(a, b)
    assert len(a) > 100 and a[0] >= 0 and a[-1] < 0.3 and np.all(np.diff(a) >= 0)
    with pytest.raises(MascotError, match="more than the"):
        arrivals.arrival_times(np.random.default_rng(0), 1e9, 1e-3, 2.0)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf")])
def test_check_positive_names_the_argument(value):
    with pytest.raises(MascotError, match="--duration-ms must be a positive number"):
        arrivals.check_positive("--duration-ms", value)


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), float("inf")])
def test_check_pareto_shape_names_the_argument(value):
    with pytest.raises(MascotError, match="--pareto-shape must be > 1"):
        arrivals.check_pareto_shape(value, "--pareto-shape")
    assert arrivals.check_pareto_shape(1.5) == 1.5


def test_files_round_trip_through_the_io_module(tmp_path):
    trace = traces.generate_trace("light", duration_s=0.05, mean_interarrival_s=1e-3, seed=2)
    for name in ("t.parquet", "t.json"):
        path = trace_io.save_trace(trace, tmp_path / name)
        assert trace_io.load_trace(path).equals(trace)
    with pytest.raises(MascotError, match="unsupported trace format"):
        trace_io.trace_format(tmp_path / "t.csv")
