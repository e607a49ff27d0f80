"""What the bench scripts share: a parser built from the script's docstring, and saving a figure."""

from __future__ import annotations

import argparse
from pathlib import Path


def script_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """A parser for `python -m <module>`: the docstring's first paragraph describes it, its last (the
    example commands) closes the --help."""
    paragraphs = doc.split("\n\n")
    return argparse.ArgumentParser(prog=f"python -m {module}", description=paragraphs[0], epilog=paragraphs[-1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def save_figure(fig, path: Path, dpi: int = 90) -> Path:
    """Lay out, write and close a matplotlib figure; returns its path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
