"""hwmodel: accelerator specs and per-layer cost models (latency, energy, DRAM bandwidth).

Knows layers (``workloads``) and hardware; knows nothing about scheduling.
"""
