"""Bundled accelerator and system specifications (YAML package data).

``accelerators/*.yaml`` hold one sub-accelerator (SA) each, ``systems/*.yaml`` one
multi-accelerator system each; :mod:`hwmodel.spec` loads and validates them.
"""
