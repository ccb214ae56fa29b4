"""Accelerator and system specifications (YAML, validated by pydantic).

A sub-accelerator (SA) is described the way a Timeloop user thinks about it, in a concise native
format (``arch_specs/accelerators/*.yaml``)::

    name: eyeriss_small
    dataflow: row_stationary          # row_stationary | weight_stationary | output_stationary | ...
    clock_ghz: 1.0
    word_bits: 16
    technology: 45nm
    pe_array: {x: 16, y: 16}          # PEs; mesh shape used for spatial fan-out
    macs_per_pe: 1
    mac_energy_pj: 2.2                # optional: default from hwmodel.energy by precision
    levels:                           # storage, innermost first; the last one is DRAM
      - name: psum_spad
        kind: regfile                 # regfile | sram | dram | dummy
        size_words: 16                # per instance
        word_bits: 16
        block_size: 1                 # words per vector access
        read_bw: 2                    # words/cycle per instance; null = unlimited
        write_bw: 2
        instances: 256                # total instances of this level in the SA
        mesh_x: 16                    # optional: X extent of the instances' mesh
        keep: [Outputs]               # tensors stored here; the others bypass the level
        read_energy_pj: 0.25          # per vector access; null = from the technology table
        write_energy_pj: 0.25
    constraints:                      # Timeloop's constraint vocabulary
      - {target: weights_spad, type: temporal, factors: "N=1 M=1 P=1 Q=1 S=1 R=0", permutation: "NMPQS CR"}
      - {target: DummyBuffer, type: spatial, factors: "N=1 P=1 Q=1 R=1 S=0", permutation: "NPQR SCM", split: 4}
    area_mm2: 1.2                     # optional: default from the area model
    static_power_mw: 20.0             # optional: default from the power model

Energies, MAC energy, area and static power may be left out: :meth:`AcceleratorSpec.resolved`
fills them from the 45 nm technology tables of :mod:`hwmodel.energy` and :mod:`hwmodel.area`, so a
new SA can be made by changing sizes only. :func:`load_accelerator` returns the resolved spec
(``resolve=False`` keeps the gaps, e.g. to show which numbers are defaults).

A system (``arch_specs/systems/*.yaml``) names SA instances by class and count plus the shared
DRAM and the network-on-package; :meth:`SystemSpec.instances` expands it into ordered, resolved
instances (``eyeriss_small_0``, ``eyeriss_small_1``, ...).

Layout (each module one job; every name is importable from here, the place to import it from):
:mod:`hwmodel.spec_components` (storage levels, constraints, PE array, the tensor / dimension
vocabulary), :mod:`hwmodel.spec_accelerator` (:class:`AcceleratorSpec`),
:mod:`hwmodel.spec_system` (:class:`SystemSpec` and its groups / instances),
:mod:`hwmodel.spec_loading` (YAML files → validated specs, error messages that name the field).
"""

from __future__ import annotations

from hwmodel.spec_accelerator import AcceleratorSpec
from hwmodel.spec_components import (
    DIMS,
    TENSORS,
    Constraint,
    Dataflow,
    LevelKind,
    MergedConstraint,
    PEArray,
    StorageLevel,
    Tensor,
    content_digest,
)
from hwmodel.spec_loading import (
    ARCH_SPECS_DIR,
    accelerator_from_dict,
    list_specs,
    load_accelerator,
    load_system,
    read_yaml,
)
from hwmodel.spec_system import SAGroup, SAInstance, SystemSpec

__all__ = [
    "ARCH_SPECS_DIR",
    "DIMS",
    "TENSORS",
    "AcceleratorSpec",
    "Constraint",
    "Dataflow",
    "LevelKind",
    "MergedConstraint",
    "PEArray",
    "SAGroup",
    "SAInstance",
    "StorageLevel",
    "SystemSpec",
    "Tensor",
    "accelerator_from_dict",
    "content_digest",
    "list_specs",
    "load_accelerator",
    "load_system",
    "read_yaml",
]
