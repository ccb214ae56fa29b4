"""Matplotlib for CLIs: a headless backend chosen lazily, and PNGs written atomically.

Every command that draws (Gantt charts, Fig. 3-style bars, parity plots, Pareto fronts, learning curves)
needs the same three things: the Agg backend (no display on CI machines or clusters), an atomic write so
an interrupted job never leaves half a PNG, and closing the figure (studies draw hundreds). Importing
matplotlib costs ~0.3 s, so it happens on first use, not at CLI start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mascot.io import atomic_write


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int = 110, tight: bool = True) -> Path:
    """Lay out (optionally), write ``fig`` as a PNG atomically, and free it."""
    plt = pyplot()
    try:
        if tight:
            fig.tight_layout()
        return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi))
    finally:
        plt.close(fig)
