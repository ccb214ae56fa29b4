"""mascot: Multi-Accelerator Scheduling and CO-design Toolkit.

This tiny package sits on top of the five working packages (``workloads``, ``hwmodel``,
``surrogate``, ``scheduler``, ``dse``): it holds the version, the one user-error type they
all raise, small I/O helpers, and the ``mascot`` command line that assembles their CLIs.
"""

__version__ = "0.1.0"
