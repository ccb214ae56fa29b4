"""A DNN as a DAG of :class:`~workloads.layer.Layer` records (networkx)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import pandas as pd

from workloads.layer import Layer


@dataclass(eq=False)
class LayerGraph:
    """Layers of one model and their data dependencies.

    Nodes are layer names carrying the :class:`Layer` under the ``"layer"`` attribute; an edge
    u → v means v reads a tensor that u produced (dependencies through contracted reshape-like
    ops are kept). ``input_shapes`` records the concrete shapes the graph was built for.
    """

    name: str
    graph: nx.DiGraph
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def from_layers(
        cls,
        name: str,
        layers: list[Layer],
        edges: list[tuple[str, str]],
        input_shapes: dict[str, tuple[int, ...]] | None = None,
        source: str | None = None,
    ) -> "LayerGraph":
        g = nx.DiGraph()
        for layer in layers:
            g.add_node(layer.name, layer=layer)
        g.add_edges_from(edges)
        if not nx.is_directed_acyclic_graph(g):
            raise ValueError(f"model {name}: layer graph has a cycle")
        return cls(name=name, graph=g, input_shapes=dict(input_shapes or {}), source=source)

    # --- views -------------------------------------------------------------------------
    @cached_property
    def layers(self) -> list[Layer]:
        """Layers in a deterministic topological order (ties broken by insertion order)."""
        order = {n: i for i, n in enumerate(self.graph.nodes)}
        names = nx.lexicographical_topological_sort(self.graph, key=lambda n: order[n])
        return [self.graph.nodes[n]["layer"] for n in names]

    @cached_property
    def index(self) -> dict[str, int]:
        """Layer name → position in :attr:`layers`."""
        return {layer.name: i for i, layer in enumerate(self.layers)}

    def predecessors(self, name: str) -> list[str]:
        return sorted(self.graph.predecessors(name), key=self.index.__getitem__)

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, name: str) -> Layer:
        return self.graph.nodes[name]["layer"]

    # --- totals ------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def num_mac_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.is_mac)

    @property
    def num_vector_layers(self) -> int:
        return len(self) - self.num_mac_layers

    @property
    def vector_ops(self) -> int:
        """Estimated vector-unit operations (vector layers and ops fused into MAC layers)."""
        return sum(layer.vector_ops for layer in self.layers)

    def summary(self) -> dict[str, object]:
        return {
            "model": self.name,
            "layers": len(self),
            "mac_layers": self.num_mac_layers,
            "macs": self.macs,
            "params": self.params,
            "inputs": ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in self.input_shapes.items()),
            "vector_layers": self.num_vector_layers,
            "vector_ops": self.vector_ops,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per layer (topological order) with dims, sizes and predecessors."""
        rows = []
        for i, layer in enumerate(self.layers):
            d = layer.to_dict()
            d["index"] = i
            d["preds"] = [self.index[p] for p in self.predecessors(layer.name)]
            d["fused"] = ",".join(layer.fused)
            rows.append(d)
        cols = ["index", "name", "op_type", "kind", "N", "C", "M", "R", "S", "P", "Q", "stride_h", "stride_w",
                "dilation_h", "dilation_w", "groups", "macs", "weight_elements", "input_elements",
                "output_elements", "vector_ops", "weights_are_activations", "fused", "preds"]
        return pd.DataFrame(rows, columns=cols)
