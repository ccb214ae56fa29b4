"""Bundled sub-accelerator specs (YAML); see :mod:`hwmodel.spec`."""
