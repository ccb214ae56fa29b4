"""Cost of non-MAC (vector) layers: pooling, element-wise ops, softmax, normalisation, concat...

They have no loop nest worth mapping, but they are not free on real hardware: the operands stream
from DRAM through the global buffer to the SA's element-wise lanes and the result streams back.

* lanes = ``spec.vector_lanes`` or, when not given, the MAC units (each MAC's adder/comparator
  does one element-wise op per cycle);
* compute cycles = ⌈max(vector ops, output elements, 1) / lanes⌉;
* traffic: every input element is read once from DRAM, written into the global buffer (the
  outermost on-chip level) and read from it by the lanes; every output element is written into
  the global buffer and read out to DRAM once; parameters (normalisation scales...) come from DRAM
  straight to the lanes;
* the global buffer's read/write bandwidth throttles the layer like a MAC layer's levels;
* energy = per-access energies of DRAM and the global buffer (⌈words / block⌉ vector accesses)
  + one MAC energy per element-wise op (an adder or comparator of the datapath width is of the
  order of a MAC; a conservative upper estimate).

Everything is at least one element and one cycle, so a vector layer never costs zero.
"""

from __future__ import annotations

from math import ceil

from hwmodel.cost import LayerCost
from hwmodel.spec import AcceleratorSpec
from workloads.layer import Layer


def vector_layer_cost(layer: Layer, spec: AcceleratorSpec, backend: str = "analytical") -> LayerCost:
    """Cycles, energy and DRAM traffic of a vector layer on ``spec`` (resolved or not)."""
    if not spec.is_resolved:
        spec = spec.resolved()
    lanes = spec.lanes
    inputs = max(int(layer.input_elements), 1)
    outputs = max(int(layer.output_elements), 1)
    params = max(int(layer.weight_elements), 0)
    ops = max(int(layer.vector_ops), outputs, 1)
    compute = ceil(ops / lanes)

    dram = spec.levels[-1]
    glb = spec.levels[-2] if len(spec.levels) >= 2 else dram
    glb_reads = inputs + outputs  # lanes read the inputs; DRAM drains the outputs
    glb_writes = inputs + outputs  # fills from DRAM; updates from the lanes
    cycles = compute
    if glb.read_bw:
        cycles = max(cycles, ceil(glb_reads / glb.read_bw))
    if glb.write_bw:
        cycles = max(cycles, ceil(glb_writes / glb.write_bw))

    def vec(words: int, level) -> float:  # noqa: ANN001 - a StorageLevel
        return ceil(words / level.block_size)

    dram_energy = (vec(inputs + params, dram)) * (dram.read_energy_pj or 0.0) + vec(outputs, dram) * (dram.write_energy_pj or 0.0)
    glb_energy = 0.0
    if glb is not dram:
        glb_energy = (vec(inputs, glb) + vec(outputs, glb)) * ((glb.read_energy_pj or 0.0) + (glb.write_energy_pj or 0.0))
    alu_energy = ops * (spec.mac_energy_pj or 0.0)
    breakdown = {spec.mac_name: alu_energy, dram.name: dram_energy}
    if glb is not dram:
        breakdown[glb.name] = glb_energy
    for lv in spec.levels:
        breakdown.setdefault(lv.name, 0.0)
    energy = alu_energy + dram_energy + glb_energy
    bytes_per_word = dram.word_bits / 8
    return LayerCost(
        cycles=int(cycles),
        energy_pj=float(energy),
        dram_read_bytes=int(ceil((inputs + params) * bytes_per_word)),
        dram_write_bytes=int(ceil(outputs * bytes_per_word)),
        utilization=0.0,
        energy_breakdown_pj=breakdown,
        mapping=f"vector: {ops} ops on {lanes} lanes",
        backend=backend,
    )
