"""Fidelity of the analytical model against real Timeloop v3.0.3 runs (18 rows, level by level).

The figures are re-expressed in ``tests/data/calibration/`` (see its README); the two designs are
the shipped ``arch_specs/accelerators/eyeriss_like.yaml`` and ``simba_like.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hwmodel.mapping import TENSORS, Mapping
from hwmodel.nest import Problem, evaluate_mapping
from hwmodel.spec import load_accelerator

DATA = Path(__file__).parent / "data" / "calibration"
ROWS = pd.read_csv(DATA / "timeloop_rows.csv")
LEVELS = pd.read_csv(DATA / "timeloop_levels.csv")


def _problem(row: pd.Series) -> Problem:
    return Problem(
        N=int(row.N), C=int(row.C), M=int(row.M), R=int(row.R), S=int(row.S), P=int(row.P), Q=int(row.Q),
        stride_h=int(row.stride), stride_w=int(row.stride), dilation_h=int(row.dilation), dilation_w=int(row.dilation),
    )


def _evaluate(row: pd.Series):
    spec = load_accelerator(row.arch)
    return spec, evaluate_mapping(_problem(row), spec, Mapping.from_compact(row.timeloop_mapping))


@pytest.mark.parametrize("idx", range(len(ROWS)), ids=[f"{r.arch}-{r.layer}" for r in ROWS.itertuples()])
def test_cycles_exact_and_energy_within_1pct(idx: int) -> None:
    row = ROWS.iloc[idx]
    _, res = _evaluate(row)
    assert int(res.cycles[0]) == int(row.cycles)
    assert res.energy_pj[0] == pytest.approx(row.energy_pj, rel=0.01)
    # in fact the model reproduces Timeloop to rounding of the printed per-access energies
    assert res.energy_pj[0] == pytest.approx(row.energy_pj, rel=1e-6)
    assert int(res.utilized_macs[0]) == int(row.utilized_pes)
    assert int(res.dram_read_words[0]) == int(row.dram_reads_words)
    assert int(res.dram_write_words[0]) == int(row.dram_writes_words)


@pytest.mark.parametrize("idx", range(len(ROWS)), ids=[f"{r.arch}-{r.layer}" for r in ROWS.itertuples()])
def test_level_by_level_counts_equal(idx: int) -> None:
    row = ROWS.iloc[idx]
    spec, res = _evaluate(row)
    names = [lv.name for lv in spec.levels]
    expected = LEVELS[(LEVELS.arch == row.arch) & (LEVELS.layer == row.layer)]
    assert len(expected) >= 7
    for q in expected.itertuples():
        li, ti = names.index(q.level), TENSORS.index(q.tensor)
        where = f"{q.level}/{q.tensor}"
        assert res.reads[0, li, ti] == q.reads, where
        assert res.fills[0, li, ti] == q.fills, where
        assert res.updates[0, li, ti] == q.updates, where
        assert res.utilized[0, li] == q.utilized_instances, where
        assert res.tile_words[0, li, ti] == q.tile_words, where
        assert res.tensor_energy_pj[0, li, ti] == pytest.approx(q.energy_pj, rel=1e-6, abs=0.05), where
    # tensors a level bypasses have no traffic there
    kept = {(q.level, q.tensor) for q in expected.itertuples()}
    for li, name in enumerate(names):
        for ti, t in enumerate(TENSORS):
            if (name, t) not in kept:
                assert res.reads[0, li, ti] == res.fills[0, li, ti] == res.updates[0, li, ti] == 0


def test_compact_mapping_round_trips() -> None:
    for text in ROWS.timeloop_mapping:
        mapping = Mapping.from_compact(text)
        assert Mapping.from_compact(mapping.to_compact()) == mapping
        # same tokens per level (Timeloop orders spatial loops by its spatial permutation)
        for ours, theirs in zip(mapping.to_compact().split(" | "), text.split(" | ")):
            assert sorted(ours.split()) == sorted(theirs.split())
