"""Bundled multi-accelerator system specs (YAML); see :mod:`hwmodel.spec`."""
