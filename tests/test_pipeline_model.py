"""Cost model of pipelined partitioning on hand-computed cases, and the Edge TPU spec."""

from __future__ import annotations

import numpy as np
import pytest

from hwmodel.spec import load_accelerator
from mascot.errors import MascotError
from scheduler.pipeline.costs import device_figures
from scheduler.pipeline.model import PipelineProblem, breakdown, evaluate_batch, is_feasible, make_partition

MB = 1e6
KB = 1e3


def hand_problem(k: int) -> PipelineProblem:
    """0 -> 1 -> 2 -> 3 plus a skip 0 -> 2; 1 MB/ms parameter bandwidth, 10 KB/ms link."""
    return PipelineProblem(
        compute_time_s=np.array([1, 2, 3, 4]) * 1e-3,
        param_bytes=np.array([0, 6, 4, 2]) * MB,
        out_bytes=np.array([10, 20, 30, 40]) * KB,
        edges=np.array([[0, 1], [1, 2], [2, 3], [0, 2]]),
        n_stages=k,
        param_mem_bytes=5 * MB,
        param_bw_bytes_per_s=1e9,
        link_bw_bytes_per_s=1e7,
        host_in_bytes=np.array([5 * KB, 0, 0, 0]),
    )


def test_two_stages_by_hand():
    bd = breakdown(hand_problem(2), np.array([0, 0, 1, 1]))
    # stage 0: compute 1+2 ms, 6 MB params stream 1 MB = 1 ms, host input 5 KB = 0.5 ms
    # stage 1: compute 3+4 ms, 6 MB params → 1 ms, receives tensors of 0 and 1 (30 KB) = 3 ms
    np.testing.assert_allclose(bd.compute_s, [3e-3, 7e-3])
    np.testing.assert_allclose(bd.param_stream_s, [1e-3, 1e-3])
    np.testing.assert_allclose(bd.receive_s, [0.5e-3, 3e-3])
    np.testing.assert_allclose(bd.stage_time_s, [4.5e-3, 11e-3])
    assert bd.bottleneck_s == pytest.approx(11e-3)
    assert bd.total_latency_s == pytest.approx(15.5e-3)


def test_tensor_read_twice_in_one_stage_crosses_once():
    bd = breakdown(hand_problem(3), np.array([0, 1, 1, 2]))
    # stage 1 holds both consumers of layer 0: its 10 KB tensor is received once (1 ms);
    # its 10 MB of parameters overflow the 5 MB memory by 5 MB (5 ms)
    np.testing.assert_allclose(bd.stage_time_s, [1.5e-3, 11e-3, 7e-3])
    np.testing.assert_allclose(bd.receive_bytes, [5 * KB, 10 * KB, 30 * KB])


def test_everything_on_one_stage_streams_the_overflow():
    p = hand_problem(1)
    bd = breakdown(p, np.zeros(4, dtype=int))
    # 12 MB of parameters, 5 MB on chip: 7 ms of streaming; no activation crosses
    assert bd.bottleneck_s == pytest.approx(10e-3 + 7e-3 + 0.5e-3)


def test_batch_matches_single_and_partition_record():
    p = hand_problem(3)
    assigns = np.array([[0, 0, 1, 1], [0, 1, 1, 2], [0, 1, 2, 2], [0, 0, 0, 0]])
    bott, total = evaluate_batch(p, assigns)
    for a, b, t in zip(assigns, bott, total):
        bd = breakdown(p, a)
        assert bd.bottleneck_s == pytest.approx(b)
        assert bd.total_latency_s == pytest.approx(t)
    part = make_partition(p, assigns[1], "test", 0.0)
    assert part.bottleneck_s == pytest.approx(11e-3)
    assert part.to_dict()["assign"] == [0, 1, 1, 2]


def test_backward_edges_are_rejected():
    p = hand_problem(2)
    assert not is_feasible(p, np.array([0, 1, 0, 1]))
    with pytest.raises(MascotError, match="goes backwards"):
        breakdown(p, np.array([0, 1, 0, 1]))
    with pytest.raises(MascotError, match="stage indices"):
        breakdown(p, np.array([0, 0, 2, 2]))


def test_bad_problem_inputs_raise_mascot_error():
    with pytest.raises(MascotError, match="param_bytes"):
        PipelineProblem(np.ones(3), np.ones(2), np.ones(3), np.array([[0, 1]]), 2, 1.0, 1.0, 1.0)
    with pytest.raises(MascotError, match="topological"):
        PipelineProblem(np.ones(3), np.ones(3), np.ones(3), np.array([[2, 1]]), 2, 1.0, 1.0, 1.0)


def test_edge_tpu_spec_figures():
    spec = load_accelerator("edge_tpu")
    assert spec.word_bits == 8 and spec.pe_array.count == 64 * 64
    assert spec.clock_ghz == pytest.approx(0.48)
    # 64 × 64 MACs × 2 ops × 480 MHz ≈ the datasheet's 4 TOPS
    assert 2 * spec.mac_units * spec.clock_ghz * 1e9 == pytest.approx(3.93e12, rel=1e-3)
    fig = device_figures(spec)
    assert fig["param_mem_bytes"] == 8 * 2**20
    assert fig["link_bw_bytes_per_s"] == pytest.approx(500e6, rel=1e-3)
    assert fig["bytes_per_element"] == 1
