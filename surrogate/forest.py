"""A numpy copy of an XGBoost tree ensemble, for predictions on a few rows.

Why: ``Booster.inplace_predict`` costs about 1-4 ms per call *whatever the row count* (per-call
set-up inside XGBoost, per tree), so one layer on the backend (four boosters) took ~12 ms. This
module walks all trees of a booster at once with numpy gathers (one step per tree level), which
for one layer is several times cheaper (measured ~1-2 ms against ~9 ms for the
four boosters of the default model on a loaded 2-core machine). For big batches XGBoost's C++ loop is faster, so
:meth:`~surrogate.model.SurrogateModel.predict_matrix` picks by row count.

Exactness: the result must equal XGBoost's bit for bit (cached tables and tests compare
predictions). XGBoost sends a row left when ``x < split_condition`` (both float32), takes the
``default_left`` branch for a missing (NaN) value, and sums in float32 the base score and then
the leaf values, tree by tree in order; we do the same (``np.cumsum`` is sequential, unlike
``np.sum``). :func:`compile_booster` refuses what it does not reproduce (categorical splits,
multi-output trees, objectives other than identity-link regression), and the model keeps using
XGBoost for those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

# objectives whose prediction is the raw margin (no link function)
_IDENTITY_OBJECTIVES = frozenset({"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
                                  "reg:quantileerror"})


@dataclass(frozen=True, eq=False)
class Forest:
    """All trees of one booster as flat arrays; node ``i`` of tree ``t`` is at ``offset[t] + i``.

    Leaves point to themselves (``left == right == own index``), so walking ``depth`` steps from
    the roots lands every row on its leaf whatever the tree's own depth.
    """

    offset: np.ndarray  # (trees,) int32: index of each root
    feature: np.ndarray  # (nodes,) int64: split feature (0 for leaves)
    threshold: np.ndarray  # (nodes,) float32: split condition (go left when x < threshold)
    left: np.ndarray  # (nodes,) int32: global index of the left child (self for leaves)
    right: np.ndarray  # (nodes,) int32
    default_left: np.ndarray  # (nodes,) bool: branch taken for NaN
    leaf_value: np.ndarray  # (nodes,) float32: value of leaves (0 elsewhere)
    base_score: np.ndarray  # (outputs,) float32: one per merged booster
    bounds: tuple[int, ...]  # trees of output k are offset[bounds[k]:bounds[k + 1]]
    depth: int
    n_features: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Margins (float32) for ``x`` (rows × features), equal to ``Booster.inplace_predict``."""
        return self.predict_all(x)[:, 0]

    def predict_all(self, x: np.ndarray) -> np.ndarray:
        """Margins (rows × outputs, float32): one walk of all trees, one summed column per booster."""
        leaves = self._leaves(x)
        n = leaves.shape[0]
        out = np.empty((n, len(self.base_score)), dtype=np.float32)
        for k, (a, b) in enumerate(zip(self.bounds[:-1], self.bounds[1:])):
            acc = np.concatenate([np.full((n, 1), self.base_score[k], dtype=np.float32), leaves[:, a:b]], axis=1)
            out[:, k] = np.cumsum(acc, axis=1, dtype=np.float32)[:, -1]
        return out

    @cached_property
    def _packed(self) -> np.ndarray:
        """(nodes, 4) int32: feature, threshold bits, left, right - one gather per tree level."""
        thr_bits = self.threshold.view(np.int32)
        return np.stack([self.feature.astype(np.int32), thr_bits, self.left.astype(np.int32),
                         self.right.astype(np.int32)], axis=1)

    @cached_property
    def _nan_child(self) -> np.ndarray:
        return np.where(self.default_left, self.left, self.right)

    def _leaves(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] < self.n_features:  # a short row would index into the next one
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        n = x.shape[0]
        has_nan = bool(np.isnan(x).any())
        packed = self._packed if len(self.leaf_value) < 2**31 else None
        node = np.broadcast_to(self.offset, (n, len(self.offset))).copy()
        rows = np.arange(n)[:, None] * x.shape[1]
        flat_x = x.ravel()
        for _ in range(self.depth):
            if packed is not None:
                rec = packed[node]
                v = flat_x[rows + rec[..., 0]]
                nxt = np.where(v < rec[..., 1].view(np.float32), rec[..., 2], rec[..., 3])
            else:
                v = flat_x[rows + self.feature[node]]
                nxt = np.where(v < self.threshold[node], self.left[node], self.right[node])
            if has_nan:  # x < t is False for NaN: XGBoost takes the node's default branch instead
                nxt = np.where(np.isnan(v), self._nan_child[node], nxt)
            node = nxt
        return self.leaf_value[node]


def merge(forests: list[Forest]) -> Forest:
    """One forest walking the trees of several boosters at once (fewer numpy calls per row)."""
    shift = np.cumsum([0] + [len(f.leaf_value) for f in forests[:-1]])
    bounds = [0]
    for f in forests:
        for k in range(len(f.bounds) - 1):
            bounds.append(bounds[-1] + f.bounds[k + 1] - f.bounds[k])
    total = int(sum(len(f.leaf_value) for f in forests))
    idx = np.int64 if total >= 2**31 else np.int32
    cat = lambda name, add=False: np.concatenate(  # noqa: E731
        [getattr(f, name).astype(np.int64) + s if add else getattr(f, name) for f, s in zip(forests, shift)])
    return Forest(
        offset=cat("offset", True).astype(idx), feature=cat("feature"), threshold=cat("threshold"),
        left=cat("left", True).astype(idx), right=cat("right", True).astype(idx),
        default_left=cat("default_left"), leaf_value=cat("leaf_value"),
        base_score=np.concatenate([f.base_score for f in forests]).astype(np.float32), bounds=tuple(bounds),
        depth=max(f.depth for f in forests), n_features=max(f.n_features for f in forests),
    )


def compile_booster(booster: Any) -> Forest | None:
    """The :class:`Forest` of an XGBoost booster, or ``None`` when it uses what we do not reproduce."""
    model = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = model["learner"]
    if learner["objective"]["name"] not in _IDENTITY_OBJECTIVES:
        return None
    param = learner["learner_model_param"]
    if int(param.get("num_class", 0)) > 0 or int(param.get("num_target", 1)) != 1:
        return None
    gb = learner["gradient_booster"]
    if gb.get("name") != "gbtree":
        return None
    trees = gb["model"]["trees"]
    if not trees or any(int(t["tree_param"].get("size_leaf_vector", 1)) > 1 or t.get("categories_nodes")
                        or any(int(s) != 0 for s in t.get("split_type", [])) for t in trees):
        return None
    base = np.float32(float(str(param["base_score"]).strip("[]")))
    sizes = np.array([len(t["left_children"]) for t in trees], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    feature, threshold, left, right, dleft, value = [], [], [], [], [], []
    depth = 0
    for t, off in zip(trees, offset):
        lc = np.asarray(t["left_children"], dtype=np.int64)
        rc = np.asarray(t["right_children"], dtype=np.int64)
        leaf = lc < 0
        own = np.arange(len(lc), dtype=np.int64)
        cond = np.asarray(t["split_conditions"], dtype=np.float32)
        feature.append(np.where(leaf, 0, np.asarray(t["split_indices"], dtype=np.int64)))
        threshold.append(np.where(leaf, np.float32(0), cond).astype(np.float32))
        left.append(np.where(leaf, own, lc) + off)
        right.append(np.where(leaf, own, rc) + off)
        dleft.append(np.asarray(t["default_left"], dtype=bool))
        value.append(np.where(leaf, cond, np.float32(0)).astype(np.float32))
        depth = max(depth, _tree_depth(lc, rc))
    idx = np.int64 if int(sizes.sum()) >= 2**31 else np.int32
    return Forest(
        offset=offset.astype(idx), feature=np.concatenate(feature).astype(np.int64),
        threshold=np.concatenate(threshold), left=np.concatenate(left).astype(idx),
        right=np.concatenate(right).astype(idx), default_left=np.concatenate(dleft),
        leaf_value=np.concatenate(value), base_score=np.array([base], dtype=np.float32),
        bounds=(0, len(trees)), depth=depth,
        n_features=int(param.get("num_feature", 0)),
    )


def _tree_depth(lc: np.ndarray, rc: np.ndarray) -> int:
    """Edges on the longest root-to-leaf path."""
    depth, frontier = 0, [0]
    while True:
        nxt = [c for i in frontier for c in (lc[i], rc[i]) if c >= 0]
        if not nxt:
            return depth
        depth, frontier = depth + 1, nxt
