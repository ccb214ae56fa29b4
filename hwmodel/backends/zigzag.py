"""The ``zigzag`` cost backend: KU Leuven's ZigZag (``zigzag-dse``) costs each MAC layer.

Why: ZigZag is the other widely used analytical DSE framework besides Timeloop, with its own
mapper (LOMA: loop-order based memory allocation) and its own latency model (memory stalls,
on/off-loading). Driving it from mascot lets a user check the analytical backend against a second
independent model, or build tables with it. For each (layer, SA) the backend

1. converts the SA to ZigZag's hardware description and a spatial-mapping hint for its dataflow
   (:mod:`hwmodel.zigzag_format`; the same dicts ``write_zigzag`` saves as YAML), and the layer
   (one group of it) to a ZigZag workload;
2. validates them with ZigZag's own validators and builds its ``Accelerator`` and workload objects
   (no temporary files: ZigZag's API would write pickles and JSON per call);
3. runs ZigZag's stage pipeline: spatial-mapping generation (mixing loop dimensions on one array
   axis as the hint allows), LOMA temporal-mapping search, cost model, keeping the best mapping
   by the objective (delay → latency, energy, edp);
4. reads the best evaluation into a :class:`LayerCost`: cycles = ZigZag's ``latency_total2``
   (compute plus stalls plus on/off-loading), energy with a per-level breakdown, DRAM traffic from
   the top memory level's data movement, utilization = MACs / (cycles × MAC units).

Modelling choices, the same as the other external backends: a grouped convolution is one group's
problem run ``groups`` times; ``vector`` layers are costed by the ``analytical`` backend (their rows
say so). ZigZag's search is deterministic (LOMA enumerates), so ``seed`` only keys the cache.

Without ``zigzag-dse`` installed the constructor raises a :class:`MascotError` saying how to
install it.
"""

from __future__ import annotations

import logging
from typing import Any

from mascot.errors import MascotError
from workloads.layer import Layer

from hwmodel.cost import LayerCost, scale_cost
from hwmodel.spec import AcceleratorSpec
from hwmodel.zigzag_format import ZIGZAG_DIM, hardware_dict, mapping_list, workload_list

INSTALL_HINT = "install the optional extra: `pip install 'mascot[zigzag]'` (or `pip install zigzag-dse six`)"
OBJECTIVES = ("delay", "energy", "edp")
_MASCOT_DIM = {v: k for k, v in ZIGZAG_DIM.items()}


def zigzag_version() -> str | None:
    """The installed ``zigzag-dse`` version, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zigzag-dse")
    except PackageNotFoundError:
        return None


def _require_zigzag() -> str:
    ver = zigzag_version()
    try:
        import zigzag  # noqa: F401
    except ImportError as exc:
        raise MascotError(f"the zigzag backend needs the `zigzag-dse` package ({exc})", hint=INSTALL_HINT) from None
    return ver or "unknown"


class ZigZagBackend:
    """Cost backend driving ZigZag's mapper and cost model; see the module docstring."""

    name = "zigzag"
    version = "zz1"

    def __init__(self, objective: str = "delay", seed: int = 0, lpf_limit: int = 4, spatial_mappings: int = 3,
                 mix_spatial: bool = True):
        self.zigzag_version = _require_zigzag()
        if objective not in OBJECTIVES:
            raise MascotError(f"unknown objective {objective!r}", hint=f"use one of {', '.join(OBJECTIVES)}")
        if lpf_limit < 1 or spatial_mappings < 1:
            raise MascotError("lpf_limit and spatial_mappings must be >= 1",
                              hint="lpf_limit bounds LOMA's loop prime factors (6 is ZigZag's default)")
        self.objective = objective
        self.seed = int(seed)
        self.lpf_limit = int(lpf_limit)
        self.spatial_mappings = int(spatial_mappings)
        self.mix_spatial = bool(mix_spatial)
        self._analytical: Any = None
        self._accelerators: dict[str, Any] = {}

    def cache_options(self) -> dict[str, Any]:
        """Everything besides the SA and the layer that changes a result (keys the table cache)."""
        return {"zigzag": self.zigzag_version, "lpf_limit": self.lpf_limit,
                "spatial_mappings": self.spatial_mappings, "mix_spatial": self.mix_spatial}

    def __getstate__(self) -> dict[str, Any]:  # ZigZag objects stay in the process that built them
        state = dict(self.__dict__)
        state["_accelerators"] = {}
        state["_analytical"] = None
        return state

    # --- CostBackend ------------------------------------------------------------------------
    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost:
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        if not layer.is_mac or layer.macs == 0:
            return self._vector_backend().evaluate(layer, spec)
        g = max(1, layer.groups)
        cme = self._best_cme(layer, spec)
        return scale_cost(cost_from_cme(cme, spec, layer.macs // g, backend=self.name), g)

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]:
        """Evaluate several layers; identical shapes within the call run ZigZag once."""
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        memo: dict[tuple, LayerCost] = {}
        out = []
        for layer in layers:
            if layer.shape_key not in memo:
                memo[layer.shape_key] = self.evaluate(layer, spec)
            out.append(memo[layer.shape_key])
        return out

    # --- internals --------------------------------------------------------------------------
    def _vector_backend(self) -> Any:
        if self._analytical is None:
            from hwmodel.cost import get_backend

            self._analytical = get_backend("analytical", objective=self.objective, seed=self.seed)
        return self._analytical

    def _accelerator(self, spec: AcceleratorSpec) -> Any:
        """ZigZag's ``Accelerator`` for ``spec``, validated by ZigZag's own schema (built once per spec)."""
        key = spec.content_hash
        if key not in self._accelerators:
            from zigzag.parser.accelerator_factory import AcceleratorFactory
            from zigzag.parser.accelerator_validator import AcceleratorValidator

            validator = AcceleratorValidator(hardware_dict(spec))
            with _quiet():
                ok = validator.validate()
            if not ok:
                raise MascotError(f"SA {spec.name!r} does not convert to a valid ZigZag accelerator: "
                                  f"{validator.validator.errors}",
                                  hint="check the spec's levels (sizes, bandwidths) with `mascot specs show`")
            self._accelerators[key] = AcceleratorFactory(validator.normalized_data).create()
        return self._accelerators[key]

    def _workload(self, layer: Layer, spec: AcceleratorSpec) -> Any:
        from zigzag.parser.mapping_validator import MappingValidator
        from zigzag.parser.workload_factory import WorkloadFactory
        from zigzag.parser.workload_validator import WorkloadValidator

        wv = WorkloadValidator(workload_list(layer, spec.word_bits))
        mv = MappingValidator(mapping_list(spec))
        with _quiet():
            ok_w, ok_m = wv.validate(), mv.validate()
        if not (ok_w and ok_m):
            raise MascotError(f"layer {layer.name!r} does not convert to a valid ZigZag workload/mapping "
                              f"({wv.validator.errors or mv.validator.errors})")
        return WorkloadFactory(wv.normalized_data, mv.normalized_data).create()

    def _best_cme(self, layer: Layer, spec: AcceleratorSpec) -> Any:
        from zigzag.mapping.temporal_mapping import TemporalMappingType
        from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
        from zigzag.stages.main import MainStage
        from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
        from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
        from zigzag.stages.results.reduce_stages import MinimalEDPStage, MinimalEnergyStage, MinimalLatencyStage
        from zigzag.stages.workload_iterator import WorkloadStage

        reduce = {"delay": MinimalLatencyStage, "energy": MinimalEnergyStage, "edp": MinimalEDPStage}[self.objective]
        main = MainStage(
            [WorkloadStage, reduce, SpatialMappingGeneratorStage, reduce, TemporalMappingGeneratorStage,
             CostModelStage],
            accelerator=self._accelerator(spec),
            workload=self._workload(layer, spec),
            loma_lpf_limit=self.lpf_limit,
            loma_show_progress_bar=False,
            nb_mappings_generated=self.spatial_mappings,
            enable_mix_spatial_mapping_generation=self.mix_spatial,
            access_same_data_considered_as_no_access=True,
            temporal_mapping_type=TemporalMappingType("uneven"),
        )
        try:
            with _quiet():
                answers = main.run()
        except Exception as exc:  # ZigZag signals "no valid mapping" with asserts and its own exception types
            if not (isinstance(exc, (AssertionError, ValueError, KeyError, ZeroDivisionError))
                    or type(exc).__module__.startswith("zigzag")):
                raise
            raise MascotError(f"ZigZag found no mapping for layer {layer.name!r} on {spec.name!r}: "
                              f"{type(exc).__name__}: {exc}",
                              hint="a level may be too small for one tile; try the analytical backend") from None
        if not answers:
            raise MascotError(f"ZigZag returned no evaluation for layer {layer.name!r} on {spec.name!r}")
        return answers[0][0]


def cost_from_cme(cme: Any, spec: AcceleratorSpec, macs: int, backend: str = "zigzag") -> LayerCost:
    """A :class:`LayerCost` from ZigZag's best ``CostModelEvaluation`` of one group of a layer."""
    from zigzag.mapping.data_movement import DataDirection, DataMoveAttr

    hierarchy = cme.accelerator.memory_hierarchy
    links = cme.memory_operand_links
    breakdown: dict[str, float] = {spec.mac_name: float(cme.mac_energy)}
    for lv in spec.levels:
        breakdown.setdefault(lv.name, 0.0)
    dram_name = spec.levels[-1].name
    read_bits = write_bits = 0.0
    for layer_op, per_level in cme.mem_energy_breakdown.items():
        levels = hierarchy.get_memory_levels(mem_op=links.layer_to_mem_op(layer_op))
        for energy, level in zip(per_level, levels):
            breakdown[level.name] = breakdown.get(level.name, 0.0) + float(energy)
        top = cme.mapping.mem_level[layer_op] - 1
        if top < 0 or levels[top].name != dram_name:
            continue
        move = cme.mapping.unit_mem_data_movement[layer_op][top]
        amount = move.get_attribute(DataMoveAttr.DATA_TRANS_AMOUNT_PER_PERIOD)
        precision = move.get_attribute(DataMoveAttr.DATA_PRECISION)
        periods = move.get_attribute(DataMoveAttr.DATA_TRANS_PERIOD_COUNT)
        instances = cme.mapping.spatial_mapping.unit_count[layer_op][top + 1]
        for direction in (DataDirection.RD_OUT_TO_LOW, DataDirection.WR_IN_BY_LOW):
            bits = float(amount.get(direction)) * float(precision.get(direction)) * float(periods.get(direction))
            if direction is DataDirection.RD_OUT_TO_LOW:
                read_bits += bits * instances
            else:
                write_bits += bits * instances
    cycles = max(1, int(round(float(cme.latency_total2))))
    return LayerCost(
        cycles=cycles,
        energy_pj=float(cme.energy_total),
        dram_read_bytes=int(round(read_bits / 8)),
        dram_write_bytes=int(round(write_bits / 8)),
        utilization=macs / (cycles * spec.mac_units),
        energy_breakdown_pj=breakdown,
        mapping=mapping_string(cme),
        backend=backend,
    )


def mapping_string(cme: Any) -> str:
    """ZigZag's chosen mapping in one line, in mascot's dimension letters.

    The spatial unrolling per array dimension, then per operand its temporal loops by memory level,
    innermost first (ZigZag allocates loops to memories per operand, so the three differ):
    ``D1: Q14 | D2: M12 || W: weights_spad[R11 Q4 C3] DRAM[S11 M8 P55] || I: ... || O: ...``.
    """
    spatial = []
    for oa_dim, single in cme.layer.spatial_mapping.items():
        parts = [f"{_MASCOT_DIM.get(str(d), str(d))}{int(f)}" for d, f in single.items() if int(f) > 1]
        spatial.append(f"{oa_dim}: {' '.join(parts) if parts else '-'}")
    out = [" | ".join(spatial)]
    hierarchy = cme.accelerator.memory_hierarchy
    links = cme.memory_operand_links
    stationary = cme.temporal_mapping.mapping_dic_stationary
    for layer_op in sorted(stationary, key=lambda op: "WIO".index(str(op)) if str(op) in "WIO" else 9):
        levels = hierarchy.get_memory_levels(mem_op=links.layer_to_mem_op(layer_op))
        chunks = []
        for level, loops in zip(levels, stationary[layer_op]):
            text = " ".join(f"{_MASCOT_DIM.get(str(d), str(d))}{int(f)}" for d, f in loops if int(f) > 1)
            if text:
                chunks.append(f"{level.name}[{text}]")
        out.append(f"{layer_op}: {' '.join(chunks) or '-'}")
    return " || ".join(out)


class _quiet:
    """Silence ZigZag's INFO/WARNING logging (it logs every spatial mapping it tries)."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("zigzag")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)
