"""The DSE search space and the area/power model (no study, no simulation: fast)."""

from __future__ import annotations

import math

import optuna
import pandas as pd
import pytest

from dse.area_power import DRAM_PHY_MM2_PER_GBPS, build_system, peak_power_w, sa_variant, system_area
from dse.objective import StudySettings
from dse.space import DesignPoint, SAChoice, SpaceConfig, point_from_params, relmas6_params, suggest
from hwmodel.spec import load_accelerator, load_system
from mascot.errors import MascotError


def test_relmas6_is_in_the_space_and_has_its_area():
    cfg = SpaceConfig()
    params = relmas6_params(cfg)
    point = point_from_params(params, cfg)
    system = build_system(point)
    ref = load_system("relmas6")
    assert [i.class_name for i in system.instances()] == [i.class_name for i in ref.instances()]
    assert [i.spec.content_hash for i in system.instances()] == [i.spec.content_hash for i in ref.instances()]
    cost = system_area(system)
    sa_sum = sum(load_accelerator(c).area_mm2 * n for c, n in
                 [("eyeriss_small", 2), ("eyeriss_large", 1), ("simba_small", 2), ("simba_large", 1)])
    assert cost.sa_area_mm2 == pytest.approx(sa_sum)
    assert cost.area_mm2 == pytest.approx(sa_sum + 16.0 * DRAM_PHY_MM2_PER_GBPS)
    assert cost.static_power_w > 0


def test_variants_scale_the_right_levels_and_grow_the_area():
    base = load_accelerator("eyeriss_small")
    big = sa_variant("eyeriss_small", 2.0, 2.0, 0.5)
    assert big.pe_array.x == 2 * base.pe_array.x and big.pe_array.y == base.pe_array.y
    assert big.level("shared_glb").size_words == 2 * base.level("shared_glb").size_words
    assert big.level("weights_spad").size_words == base.level("weights_spad").size_words // 2
    assert big.level("weights_spad").instances == 2 * base.level("weights_spad").instances
    assert big.area_mm2 > base.area_mm2 and big.name != base.name
    assert sa_variant("eyeriss_small", 2.0, 2.0, 0.5).content_hash == big.content_hash  # names recur: caches hit
    small = sa_variant("simba_small", 0.5, 0.5, 1.0)
    assert small.mac_units == load_accelerator("simba_small").mac_units // 2
    assert small.area_mm2 < load_accelerator("simba_small").area_mm2


def test_peak_power_adds_dynamic_and_dram():
    system = build_system(DesignPoint((SAChoice("simba_small", 2),), 16.0, "fcfs-h"))
    cost = system_area(system)
    table = pd.DataFrame({
        "sa_class": ["simba_small"] * 3,
        "energy_pj": [1e6, 4e6, 3e6],
        "latency_s": [1e-3, 1e-3, 1e-6],
        "dram_bytes": [0, 0, 16_000],  # 16 kB at 16 GB/s take 1 µs: no stretch
        "energy_breakdown": ['{"DRAM": 0}', '{"DRAM": 1e6}', '{"DRAM": 1e6}'],
    })
    peak = peak_power_w(system, table, cost)
    dram_w = 16.0 * 8 * 8.0 * 1e-3
    # the third layer: 2e6 pJ on chip in 1 µs = 2 W per SA
    assert peak.peak_power_w == pytest.approx(cost.static_power_w + 2 * 2.0 + dram_w)
    # a layer whose DRAM traffic needs more than 16 GB/s is stretched: 1.6 MB take 100 µs, not 1 µs
    table.loc[2, "dram_bytes"] = 1_600_000
    peak = peak_power_w(system, table, cost)
    assert peak.peak_power_w == pytest.approx(cost.static_power_w + 2 * 2e6 * 1e-12 / 1e-4 + dram_w)


def test_suggest_covers_every_knob_and_is_seeded():
    cfg = SpaceConfig(classes=("eyeriss_small", "simba_small"))

    def sample(seed: int) -> list[DesignPoint]:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        points = []
        for _ in range(5):
            trial = study.ask()
            points.append(suggest(trial, cfg))
            study.tell(trial, 0.0)
        return points

    a, b = sample(3), sample(3)
    assert a == b
    for p in a:
        assert {s.base for s in p.sas} == {"eyeriss_small", "simba_small"}
        assert p.policy in cfg.policies and p.dram_gbps in cfg.dram_gbps
        assert (p.magma_population is not None) == (p.policy == "magma")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"classes": ()}, "at least one SA class"),
        ({"pe_scales": (0.0,)}, "pe_scales"),
        ({"policies": ("fifo",)}, "unknown policies"),
        ({"policies": ("relmas",)}, "needs a checkpoint"),
    ],
)
def test_bad_space_is_a_user_error(kwargs, words):
    with pytest.raises(MascotError, match=words):
        SpaceConfig(**kwargs)


def test_settings_round_trip_and_validation():
    s = StudySettings(area_budget_mm2=20.0, objectives=("energy",), min_sla=0.5, space=SpaceConfig(max_count=2))
    assert StudySettings.from_dict(s.to_dict()) == s
    assert s.directions == ["minimize"]
    with pytest.raises(MascotError, match="area-budget"):
        StudySettings(area_budget_mm2=-1)
    with pytest.raises(MascotError, match="objectives"):
        StudySettings(area_budget_mm2=1, objectives=("speed",))
    assert not math.isnan(s.area_budget_mm2)
    assert SpaceConfig(policies=("prema-h-reserve", "prema-h-late")).policies == ("prema-h-reserve", "prema-h-late")


def test_design_id_ignores_knobs_the_trial_does_not_use():
    from dse.space import design_id

    a = DesignPoint((SAChoice("simba_small", 1, 1.0), SAChoice("eyeriss_small", 0, 2.0)), 16.0, "herald")
    b = DesignPoint((SAChoice("simba_small", 1, 1.0), SAChoice("eyeriss_small", 0, 0.5)), 16.0, "herald")
    c = DesignPoint((SAChoice("simba_small", 1, 2.0), SAChoice("eyeriss_small", 0, 0.5)), 16.0, "herald")
    assert design_id(a) == design_id(b) != design_id(c)
    m1 = DesignPoint(a.sas, 16.0, "magma", 1.0, 8, 2)
    m2 = DesignPoint(a.sas, 16.0, "magma", 1.0, 16, 2)
    assert design_id(m1) != design_id(m2)
