"""workloads: DNN models as layer DAGs (ONNX import, model zoo) and multi-tenant request traces.

Knows nothing about hardware: a :class:`~workloads.layer.Layer` is a loop nest with sizes, a
:class:`~workloads.graph.LayerGraph` is their dependency DAG.
"""

from workloads.layer import Layer, LayerKind

__all__ = ["Layer", "LayerKind"]
