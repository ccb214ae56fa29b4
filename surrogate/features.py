"""Features of one (layer, SA) pair, computed the same way for training rows and backend queries.

Why hand-made features on top of the raw numbers: a tree model splits one feature at a time, so
quantities the cost depends on *jointly* (MACs per MAC unit, how evenly a dimension fills the PE
array, whether a tensor fits a buffer) would take many splits to learn and would extrapolate
badly. Giving them explicitly keeps the model small and accurate on real layers.

Two record builders turn objects into flat columns:

* :func:`layer_record` - the :class:`~workloads.layer.Layer` fields (``N C M R S P Q stride_h
  stride_w dilation_h dilation_w groups input_elements output_elements weight_elements vector_ops
  weights_are_activations kind``);
* :func:`hardware_record` - ``hw_*`` columns of an :class:`~hwmodel.spec.AcceleratorSpec`:
  dataflow, PE array, MACs per PE, lanes, word bits, global buffer size / block / bandwidth,
  per-PE buffer words per tensor, DRAM bandwidth (words/cycle, 0 = unlimited) and per-word
  energies (MAC, inner buffers per tensor, global buffer, DRAM).

:func:`feature_matrix` turns a frame of both into the model input (columns :data:`FEATURES`, all
numpy, vectorised). Logs are base 2; ``eff_<dim>_<x|y>`` is ``d / (ceil(d / pe) × pe)``, the
fraction of the array a dimension fills when it is spread over X or Y.

Version 3 added the analytical model's own cheap quantities: the best spatial assignment the
Table-1 dataflows allow (``log2_util_macs``, ``util_share``, which dims sit on the array, enumerated
jointly as the mapper does: ``exact_spatial_macs``), the compute cycles it gives (or the
vector-layer closed form of :mod:`hwmodel.vector_cost`: ``log2_spatial_cycles``), the DRAM
re-sends of the weights it implies, and floors for energy and DRAM bytes. Each target is learned
relative to one of them (:data:`OFFSET_FEATURES`): cycles / spatial cycles is 1 for almost every
Simba mapping, so the trees only model what the floor misses. :data:`FEATURE_VERSION`
changes whenever the list or a definition changes, so a model file made for other features is
refused (:mod:`surrogate.model`).
Version 4: the row-stationary weight re-sends count Q tiles only (the polished mapper keeps C out of
the global buffer, so the output-row loop there re-sends nothing), and the DRAM-read and energy floors
include those re-sends.
Version 5 adds the global-buffer occupancy of one DRAM Q tile (inputs, outputs, both); version 6 the
largest prime factor of C, M, P and Q; version 7 their largest power-of-two factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hwmodel.mapspace import prime_factors
from hwmodel.spec import AcceleratorSpec
from surrogate.spatial import _best_divisor, _best_pair, _unique_int_rows, exact_spatial_macs
from workloads.layer import Layer

FEATURE_VERSION = "7"
DRAM_UNLIMITED_WORDS_PER_CYCLE = 65536.0  # stands for "no DRAM limit" in log features
LAYER_COLUMNS: tuple[str, ...] = (
    "kind", "N", "C", "M", "R", "S", "P", "Q", "stride_h", "stride_w", "dilation_h", "dilation_w", "groups",
    "input_elements", "output_elements", "weight_elements", "vector_ops", "weights_are_activations",
)
DATAFLOWS: tuple[str, ...] = ("row_stationary", "weight_stationary", "output_stationary", "input_stationary", "custom")
HARDWARE_COLUMNS: tuple[str, ...] = (
    "hw_dataflow", "hw_pe_x", "hw_pe_y", "hw_macs_per_pe", "hw_mac_units", "hw_lanes", "hw_word_bits",
    "hw_glb_words", "hw_glb_block", "hw_glb_bw", "hw_pe_weight_words", "hw_pe_input_words", "hw_pe_output_words",
    "hw_dram_bw_words", "hw_mac_pj", "hw_inner_weight_pj", "hw_inner_input_pj", "hw_inner_output_pj",
    "hw_glb_read_pj", "hw_glb_write_pj", "hw_dram_pj",
)
# the hardware parameters whose training ranges are recorded (a query outside them warns)
RANGE_COLUMNS: tuple[str, ...] = (
    "hw_pe_x", "hw_pe_y", "hw_macs_per_pe", "hw_mac_units", "hw_word_bits", "hw_glb_words",
    "hw_pe_weight_words", "hw_pe_input_words", "hw_pe_output_words", "hw_dram_bw_words",
    "log2_macs", "log2_weights", "log2_inputs", "log2_outputs",
)

_DIMS_FOR_EFF = ("Cg", "Mg", "P", "Q", "S", "R")
FEATURES: tuple[str, ...] = (
    "is_conv", "is_matmul", "is_vector", "is_depthwise", "weights_are_activations",
    "dataflow_code", "log2_N", "log2_Cg", "log2_Mg", "log2_R", "log2_S", "log2_P", "log2_Q", "log2_groups",
    "stride", "dilation", "log2_macs", "log2_weights", "log2_inputs", "log2_outputs", "log2_vector_ops",
    "log2_intensity", "log2_ideal_cycles", "log2_vector_cycles",
    "log2_pe_x", "log2_pe_y", "log2_macs_per_pe", "log2_mac_units", "log2_lanes", "word_bits",
    "log2_glb_words", "log2_glb_block", "log2_glb_bw", "log2_pe_weight_words", "log2_pe_input_words",
    "log2_pe_output_words", "log2_dram_bw_words", "dram_limited",
    "mac_pj", "inner_weight_pj", "inner_input_pj", "inner_output_pj", "glb_read_pj", "glb_write_pj", "dram_pj",
    "log2_weights_over_pe", "log2_inputs_over_glb", "log2_outputs_over_glb", "log2_io_over_glb",
    "log2_compulsory_dram_bytes", "log2_dram_roofline_cycles", "log2_glb_roofline_cycles",
    *(f"eff_{d}_{a}" for d in _DIMS_FOR_EFF for a in ("x", "y")),
    "eff_Mg_4", "eff_Cg_4", "eff_Mg_xy", "eff_Cg_S_y", "eff_Q_M_x",
    *(f"div_{d}_{a}" for d in ("Cg", "Mg", "P", "Q") for a in ("x", "y")),
    "div_QM_x", "div_CM_x", "div_SCM_y", "div_C_4", "div_M_4", "util_rs", "util_ws", "log2_div_cycles",
    "log2_util_macs", "util_share", "log2_spatial_cycles", "log2_energy_floor_pj",
    "log2_array_q", "log2_array_s", "log2_array_c", "log2_array_m", "log2_weight_refetch", "log2_weight_dram_words",
    "log2_dram_read_floor_bytes", "log2_dram_write_floor_bytes",
    "log2_tile_inputs_over_glb", "log2_tile_outputs_over_glb", "log2_tile_io_over_glb",
    "log2_maxprime_Cg", "log2_maxprime_Mg", "log2_maxprime_P", "log2_maxprime_Q",
    "log2_pow2_Cg", "log2_pow2_Mg", "log2_pow2_P", "log2_pow2_Q",
)
# the log2 feature each target is learned relative to (the model learns log(target / 2**feature)):
# cost-model floors that carry most of the variance, so the trees only learn the mapper's residual
OFFSET_FEATURES: dict[str, str] = {
    "cycles": "log2_spatial_cycles",
    "energy_pj": "log2_energy_floor_pj",
    "dram_read_bytes": "log2_dram_read_floor_bytes",
    "dram_write_bytes": "log2_dram_write_floor_bytes",
}


def layer_record(layer: Layer) -> dict[str, Any]:
    """The layer fields the features use (a row of a training or query frame)."""
    return {
        "kind": layer.kind.value, "N": layer.N, "C": layer.C, "M": layer.M, "R": layer.R, "S": layer.S,
        "P": layer.P, "Q": layer.Q, "stride_h": layer.stride_h, "stride_w": layer.stride_w,
        "dilation_h": layer.dilation_h, "dilation_w": layer.dilation_w, "groups": layer.groups,
        "input_elements": int(layer.input_elements), "output_elements": int(layer.output_elements),
        "weight_elements": int(layer.weight_elements), "vector_ops": int(layer.vector_ops),
        "weights_are_activations": bool(layer.weights_are_activations),
    }


def hardware_record(spec: AcceleratorSpec) -> dict[str, Any]:
    """``hw_*`` columns of a resolved spec: sizes per PE and per-word energies, by tensor.

    Inner levels are those below the global buffer (``levels[:-2]``); a level's words count per
    PE (``size × instances / PEs``) toward every tensor it keeps, and its per-word read energy
    (vector-access energy / block size) toward that tensor's inner energy.
    """
    if not spec.is_resolved:
        spec = spec.resolved()
    pes = spec.pe_array.count
    glb, dram = spec.levels[-2], spec.levels[-1]
    words = {"Weights": 0.0, "Inputs": 0.0, "Outputs": 0.0}
    energy = {"Weights": 0.0, "Inputs": 0.0, "Outputs": 0.0}
    for lv in spec.levels[:-2]:
        if lv.kind == "dummy":
            continue
        for t in lv.keep:
            words[t] += (lv.size_words or 0) * lv.instances / pes
            energy[t] += (lv.read_energy_pj or 0.0) / lv.block_size
    dram_bw = dram.read_bw if dram.read_bw is not None else 0.0
    return {
        "hw_dataflow": spec.dataflow, "hw_pe_x": spec.pe_array.x, "hw_pe_y": spec.pe_array.y,
        "hw_macs_per_pe": spec.macs_per_pe, "hw_mac_units": spec.mac_units, "hw_lanes": spec.lanes,
        "hw_word_bits": spec.word_bits, "hw_glb_words": int(glb.size_words or 0), "hw_glb_block": glb.block_size,
        "hw_glb_bw": float(glb.read_bw or 0.0), "hw_pe_weight_words": words["Weights"],
        "hw_pe_input_words": words["Inputs"], "hw_pe_output_words": words["Outputs"],
        "hw_dram_bw_words": float(dram_bw), "hw_mac_pj": float(spec.mac_energy_pj or 0.0),
        "hw_inner_weight_pj": energy["Weights"], "hw_inner_input_pj": energy["Inputs"],
        "hw_inner_output_pj": energy["Outputs"],
        "hw_glb_read_pj": float(glb.read_energy_pj or 0.0) / glb.block_size,
        "hw_glb_write_pj": float(glb.write_energy_pj or 0.0) / glb.block_size,
        "hw_dram_pj": float(dram.read_energy_pj or 0.0) / dram.block_size,
    }


def _num(df: Any, key: str) -> np.ndarray:
    """A column as float64, from a DataFrame or a dict of arrays (the backend's pandas-free path)."""
    return np.asarray(df[key], dtype=np.float64)


def _text(df: Any, key: str) -> np.ndarray:
    return np.asarray(df[key]).astype(str)


def _log2(x: Any) -> np.ndarray:
    return np.log2(np.maximum(np.asarray(x, dtype=np.float64), 1.0))


def _max_prime(v: np.ndarray) -> np.ndarray:
    """Largest prime factor of each positive integer value (1 for 1): each distinct value factorised once,
    by the mapper's own (cached) :func:`~hwmodel.mapspace.prime_factors`."""
    iv = np.maximum(np.asarray(v), 1).astype(np.int64)
    uniq, inverse = np.unique(iv, return_inverse=True)
    largest = np.array([prime_factors(int(n))[-1] if n > 1 else 1 for n in uniq], dtype=np.float64)
    return largest[inverse.reshape(iv.shape)]


def _pow2_part(v: np.ndarray) -> np.ndarray:
    """The largest power of two dividing each positive integer value (``n & -n``)."""
    iv = np.maximum(np.asarray(v), 1).astype(np.int64)
    return (iv & -iv).astype(np.float64)


def _eff(d: np.ndarray, pe: np.ndarray) -> np.ndarray:
    pe = np.maximum(pe, 1.0)
    return d / (np.ceil(d / pe) * pe)


def derived_columns(df: Any) -> dict[str, np.ndarray]:
    """Log sizes shared by the feature matrix and the range checks."""
    kind = _text(df, "kind")
    mac = kind != "vector"
    groups = np.maximum(_num(df, "groups"), 1.0)
    dims = {k: _num(df, k) for k in ("N", "C", "M", "R", "S", "P", "Q")}
    macs = np.where(mac, dims["N"] * dims["M"] * dims["P"] * dims["Q"] * (dims["C"] // groups) * dims["R"] * dims["S"], 0.0)
    return {
        "macs": macs,
        "log2_macs": _log2(macs),
        "log2_weights": _log2(_num(df, "weight_elements")),
        "log2_inputs": _log2(_num(df, "input_elements")),
        "log2_outputs": _log2(_num(df, "output_elements")),
    }


def feature_matrix(df: Any) -> np.ndarray:
    """The model input for a frame (or dict of arrays) of :data:`LAYER_COLUMNS` + :data:`HARDWARE_COLUMNS` (float32)."""
    f: dict[str, np.ndarray] = {}
    kind = _text(df, "kind")
    f["is_conv"] = (kind == "conv").astype(np.float64)
    f["is_matmul"] = (kind == "matmul").astype(np.float64)
    f["is_vector"] = (kind == "vector").astype(np.float64)
    groups = np.maximum(_num(df, "groups"), 1.0)
    n, c, m = (_num(df, k) for k in ("N", "C", "M"))
    r, s, p, q = (_num(df, k) for k in ("R", "S", "P", "Q"))
    cg, mg = np.maximum(c // groups, 1.0), np.maximum(m // groups, 1.0)
    f["is_depthwise"] = ((groups > 1) & (groups == c)).astype(np.float64)
    f["weights_are_activations"] = _num(df, "weights_are_activations")
    dataflow = _text(df, "hw_dataflow")
    f["dataflow_code"] = np.select([dataflow == d for d in DATAFLOWS], [float(i) for i in range(len(DATAFLOWS))],
                                   default=float(len(DATAFLOWS)))
    for name, v in (("N", n), ("Cg", cg), ("Mg", mg), ("R", r), ("S", s), ("P", p), ("Q", q), ("groups", groups)):
        f[f"log2_{name}"] = _log2(v)
    f["stride"] = _num(df, "stride_h")
    f["dilation"] = _num(df, "dilation_h")
    d = derived_columns(df)
    macs = d["macs"]
    weights = _num(df, "weight_elements")
    inputs = _num(df, "input_elements")
    outputs = _num(df, "output_elements")
    vops = _num(df, "vector_ops")
    for k in ("log2_macs", "log2_weights", "log2_inputs", "log2_outputs"):
        f[k] = d[k]
    f["log2_vector_ops"] = _log2(vops)
    f["log2_intensity"] = np.log2((macs + 1.0) / (weights + inputs + outputs + 1.0))

    pe_x, pe_y = _num(df, "hw_pe_x"), _num(df, "hw_pe_y")
    mpp = _num(df, "hw_macs_per_pe")
    units, lanes = _num(df, "hw_mac_units"), _num(df, "hw_lanes")
    bits = _num(df, "hw_word_bits")
    glb_words, glb_block = _num(df, "hw_glb_words"), _num(df, "hw_glb_block")
    glb_bw = _num(df, "hw_glb_bw")
    glb_bw = np.where(glb_bw > 0, glb_bw, DRAM_UNLIMITED_WORDS_PER_CYCLE)
    dram_bw = _num(df, "hw_dram_bw_words")
    limited = dram_bw > 0
    dram_bw = np.where(limited, dram_bw, DRAM_UNLIMITED_WORDS_PER_CYCLE)
    f["log2_ideal_cycles"] = _log2(macs / units)
    f["log2_vector_cycles"] = _log2(np.maximum(vops, outputs) / lanes)
    for name, v in (("pe_x", pe_x), ("pe_y", pe_y), ("macs_per_pe", mpp), ("mac_units", units), ("lanes", lanes)):
        f[f"log2_{name}"] = _log2(v)
    f["word_bits"] = bits
    f["log2_glb_words"] = _log2(glb_words)
    f["log2_glb_block"] = _log2(glb_block)
    f["log2_glb_bw"] = _log2(glb_bw)
    pe_w = _num(df, "hw_pe_weight_words")
    f["log2_pe_weight_words"] = _log2(pe_w)
    f["log2_pe_input_words"] = _log2(_num(df, "hw_pe_input_words"))
    f["log2_pe_output_words"] = _log2(_num(df, "hw_pe_output_words"))
    f["log2_dram_bw_words"] = np.log2(dram_bw)
    f["dram_limited"] = limited.astype(np.float64)
    for k in ("mac_pj", "inner_weight_pj", "inner_input_pj", "inner_output_pj", "glb_read_pj", "glb_write_pj", "dram_pj"):
        f[k] = _num(df, f"hw_{k}")
    pes = pe_x * pe_y
    f["log2_weights_over_pe"] = np.log2((weights / np.maximum(groups, 1.0) + 1.0) / (pe_w * pes + 1.0))
    f["log2_inputs_over_glb"] = np.log2((inputs + 1.0) / (glb_words + 1.0))
    f["log2_outputs_over_glb"] = np.log2((outputs + 1.0) / (glb_words + 1.0))
    f["log2_io_over_glb"] = np.log2((inputs + outputs + 1.0) / (glb_words + 1.0))
    compulsory_words = weights + inputs + outputs
    f["log2_compulsory_dram_bytes"] = _log2(compulsory_words * bits / 8.0)
    f["log2_dram_roofline_cycles"] = _log2(compulsory_words / dram_bw)
    f["log2_glb_roofline_cycles"] = _log2((inputs + outputs) / glb_bw)
    dimv = {"Cg": cg, "Mg": mg, "P": p, "Q": q, "S": s, "R": r}
    for name in _DIMS_FOR_EFF:
        f[f"eff_{name}_x"] = _eff(dimv[name], pe_x)
        f[f"eff_{name}_y"] = _eff(dimv[name], pe_y)
    f["eff_Mg_4"] = _eff(mg, np.full_like(mg, 4.0))
    f["eff_Cg_4"] = _eff(cg, np.full_like(cg, 4.0))
    f["eff_Mg_xy"] = _eff(mg, pes)
    f["eff_Cg_S_y"] = _eff(cg * s, pe_y)
    f["eff_Q_M_x"] = _eff(q * mg, pe_x)
    mac = kind != "vector"
    as_int = lambda v: np.where(mac, np.maximum(v, 1), 1).astype(np.int64)  # noqa: E731
    rs = dataflow == "row_stationary"
    # the divisor features depend on (Cg, Mg, P, Q, S, PE array, dataflow) only: computed once per
    # distinct combination (one sort), tables and data sets repeat them a lot
    key_cols = np.stack([as_int(cg), as_int(mg), as_int(p), as_int(q), as_int(s), pe_x.astype(np.int64),
                         pe_y.astype(np.int64), rs.astype(np.int64), mpp.astype(np.int64)], axis=1)
    uk, inv = _unique_int_rows(key_cols)
    kc = [uk[:, j] for j in range(uk.shape[1])]
    div_u = divisor_features(*kc[:7])
    spatial = exact_spatial_macs(kc[0], kc[1], kc[4], kc[3], kc[2], kc[5], kc[6], np.where(kc[7] > 0, kc[8], 1),
                                 kc[7].astype(bool))
    for j, name in enumerate(("used", "sp_q", "sp_s", "sp_c", "sp_m")):
        div_u[name] = spatial[:, j]
    div = {k: v[inv] for k, v in div_u.items()}
    used = div.pop("used")
    sp = {k: div.pop(f"sp_{k}") for k in ("q", "s", "c", "m")}
    for k, v in sp.items():
        f[f"log2_array_{k}"] = _log2(v)
    # row stationary: the weights bypass the global buffer, and the Eyeriss mapspace fixes Q as the
    # outermost DRAM loop, so DRAM re-sends them once per Q tile not on the array (the polished
    # mapper keeps C out of the global buffer, so the output-row loop P there re-sends nothing:
    # 1x1 convs C1024 M192 on eyeriss_small read 1.0x / 5.8x / 4.0x compulsory at P = Q = 8 / 7 / 16,
    # Q on the array 8 / 1 / 2); weight stationary: once per layer (kept in the PEs)
    refetch = np.where(rs, np.ceil(q / np.maximum(sp["q"], 1.0)), 1.0)
    f["log2_weight_refetch"] = _log2(refetch)
    f["log2_weight_dram_words"] = _log2(weights / np.maximum(groups, 1.0) * refetch * groups)
    # what the global buffer must hold for one DRAM Q tile (row stationary: the whole output height P
    # sits in the GLB, Q only as wide as the array holds it): whether all C inputs and all M outputs
    # of that tile fit decides if DRAM splits C (inputs re-read once per M split) or M
    stride = np.maximum(f["stride"], 1.0)
    q_tile = np.where(rs, np.minimum(np.maximum(sp["q"], 1.0), q), q)
    tile_in = np.where(mac, c * ((p - 1.0) * stride + r) * ((q_tile - 1.0) * stride + s), inputs)
    tile_out = np.where(mac, m * p * q_tile, outputs)
    f["log2_tile_inputs_over_glb"] = np.log2((tile_in + 1.0) / (glb_words + 1.0))
    f["log2_tile_outputs_over_glb"] = np.log2((tile_out + 1.0) / (glb_words + 1.0))
    f["log2_tile_io_over_glb"] = np.log2((tile_in + tile_out + 1.0) / (glb_words + 1.0))
    # the largest prime factor of a dimension: a large one (P = 13, 17; M = 425 = 5²·17) forces its
    # whole factor into one loop, which is where tilings and DRAM traffic jump
    for name, v in (("Cg", cg), ("Mg", mg), ("P", p), ("Q", q)):
        v = np.where(mac, v, 1.0)
        f[f"log2_maxprime_{name}"] = _log2(_max_prime(v))
        # the power-of-two part tells even channel counts (160 = 2^5·5) from raw ones (150 = 2·3·5²):
        # with few small factors the mapper cannot balance the buffer tiles, and a prime side then costs
        f[f"log2_pow2_{name}"] = _log2(_pow2_part(v))
    f.update(div)
    util = np.where(rs, div["util_rs"], div["util_ws"])
    f["log2_div_cycles"] = _log2(macs / (units / np.maximum(mpp, 1.0) * np.maximum(util, 1e-6)))
    # the mapper's own best spatial utilisation (MAC units in use), see exact_spatial_macs
    used = np.minimum(np.maximum(used, 1.0), units)
    f["log2_util_macs"] = np.log2(used)
    f["util_share"] = used / units
    # vector layers: the closed form of hwmodel.vector_cost (ops on the lanes, operands streamed
    # through the global buffer, which may throttle); MAC layers: MACs / busy MAC units
    v_in, v_out = np.maximum(inputs, 1.0), np.maximum(outputs, 1.0)
    v_ops = np.maximum(np.maximum(vops, v_out), 1.0)
    raw_glb_bw = _num(df, "hw_glb_bw")
    v_cycles = np.maximum(np.ceil(v_ops / lanes), np.where(raw_glb_bw > 0, np.ceil((v_in + v_out) / np.maximum(raw_glb_bw, 1e-9)), 0.0))
    f["log2_spatial_cycles"] = np.where(mac, _log2(macs / used), _log2(v_cycles))
    # energy floor: every MAC with one inner access per operand plus compulsory DRAM traffic;
    # vector layers: one op per element plus streaming through DRAM and the global buffer
    mac_pj, dram_pj = f["mac_pj"], f["dram_pj"]
    inner_pj = f["inner_weight_pj"] + f["inner_input_pj"] + f["inner_output_pj"]
    glb_pj = f["glb_read_pj"] + f["glb_write_pj"]
    weight_dram_words = np.where(mac, weights * refetch, weights)
    e_mac = macs * (mac_pj + inner_pj) + (weight_dram_words + inputs + outputs) * dram_pj
    e_vec = v_ops * mac_pj + (v_in + weights + v_out) * dram_pj + (v_in + v_out) * glb_pj
    f["log2_energy_floor_pj"] = _log2(np.where(mac, e_mac, e_vec))
    bytes_per_word = bits / 8.0
    f["log2_dram_read_floor_bytes"] = _log2((weight_dram_words + np.where(mac, inputs, v_in)) * bytes_per_word)
    f["log2_dram_write_floor_bytes"] = _log2(np.where(mac, outputs, v_out) * bytes_per_word)
    # fill float32 directly: the same per-element cast as column_stack(...).astype, without the float64 copy
    out = np.empty((len(kind), len(FEATURES)), dtype=np.float32)
    for j, name in enumerate(FEATURES):
        out[:, j] = f[name]
    return out


def _apply_unique(fn: Any, *cols: np.ndarray) -> np.ndarray:
    """``fn`` on each distinct row of ``cols`` (non-negative integers), mapped back.

    Tables repeat shapes a lot, so this costs one sort of packed 64-bit keys plus one Python
    call per distinct row (dims < 2^20, the last column < 2^12, as for every realistic layer/SA).
    """
    arrays = [np.asarray(c, dtype=np.int64) for c in cols]
    if len(arrays[0]) <= 16:  # a few rows (one layer on the backend): sorting costs more than it saves
        return np.array([fn(*(int(a[i]) for a in arrays)) for i in range(len(arrays[0]))], dtype=np.float64)
    key = np.zeros(len(arrays[0]), dtype=np.int64)
    for a, shift in zip(arrays, (32, 12, 0)[-len(arrays):]):
        key |= np.minimum(a, (1 << 20) - 1) << shift
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    vals = np.array([fn(*(int(a[i]) for a in arrays)) for i in first], dtype=np.float64)
    return vals[inverse.reshape(-1)]


def divisor_features(cg: np.ndarray, mg: np.ndarray, p: np.ndarray, q: np.ndarray, s: np.ndarray,
                     pe_x: np.ndarray, pe_y: np.ndarray) -> dict[str, np.ndarray]:
    """Spatial utilisations a perfect-factor mapper can reach (the analytical mapper's rule).

    ``div_<d>_<axis>``: largest divisor of the dim that fits the axis, over the axis size.
    ``div_QM_x`` (row stationary: Q and M share X), ``div_SCM_y`` (S whole, then C and M share Y),
    ``div_CM_x`` (weight stationary: C and M share the PEs), ``div_C_4`` / ``div_M_4`` (Simba's
    4-wide vector lanes). ``util_rs`` / ``util_ws`` are the products for each dataflow.
    """
    f: dict[str, np.ndarray] = {}
    for name, v in (("Cg", cg), ("Mg", mg), ("P", p), ("Q", q)):
        f[f"div_{name}_x"] = _apply_unique(_best_divisor, v, pe_x) / pe_x
        f[f"div_{name}_y"] = _apply_unique(_best_divisor, v, pe_y) / pe_y
    f["div_QM_x"] = _apply_unique(_best_pair, q, mg, pe_x) / pe_x
    f["div_CM_x"] = _apply_unique(_best_pair, cg, mg, pe_x) / pe_x
    cap_y = np.floor_divide(pe_y, np.maximum(s, 1)).astype(np.int64)
    f["div_SCM_y"] = s * _apply_unique(_best_pair, cg, mg, cap_y) / pe_y
    four = np.full(len(cg), 4, dtype=np.int64)
    f["div_C_4"] = _apply_unique(_best_divisor, cg, four) / 4.0
    f["div_M_4"] = _apply_unique(_best_divisor, mg, four) / 4.0
    f["util_rs"] = f["div_QM_x"] * f["div_SCM_y"]
    f["util_ws"] = f["div_CM_x"] * f["div_C_4"] * f["div_M_4"]
    return f


def range_values(df: Any) -> dict[str, np.ndarray]:
    """The columns whose training ranges a model records (see :data:`RANGE_COLUMNS`)."""
    d = derived_columns(df)
    out = {}
    for col in RANGE_COLUMNS:
        out[col] = d[col] if col in d else _num(df, col)
    return out


def query_frame(layers: list[Layer], spec: AcceleratorSpec) -> pd.DataFrame:
    """A frame of ``layers`` on ``spec`` ready for :func:`feature_matrix`."""
    return pd.DataFrame(query_columns(layers, spec))


def query_columns(layers: list[Layer], spec: AcceleratorSpec) -> dict[str, np.ndarray]:
    """The same as :func:`query_frame` as a dict of numpy arrays: no pandas on the backend's per-call path."""
    hw = hardware_record(spec)
    rows = [layer_record(layer) for layer in layers]
    n = len(rows)
    data: dict[str, np.ndarray] = {c: np.array([r[c] for r in rows]) for c in LAYER_COLUMNS}
    data.update({k: np.array([v] * n) for k, v in hw.items()})
    return data
