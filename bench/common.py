"""What the bench scripts share: a parser built from the script's docstring, saving a figure, writing a report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable


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


def write_report(out: Path, results: dict, summary: str, plot: Callable[[dict, Path], Path], caption: str) -> None:
    """Write results.json, summary.md (ending with the plot) and the plot into `out`; print the summary, and
    to stderr what was written and how long the run took (`results["run_seconds"]`)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    png = plot(results, out)
    (out / "summary.md").write_text(f"{summary}\n![{caption}]({png.name})\n")
    print(summary)
    print(f"wrote {out / 'results.json'}, {out / 'summary.md'}, {png} ({results['run_seconds']:.0f} s)", file=sys.stderr)


def rtmusic_systems(prog: str, names: list[str], samplerate: int = 48_000) -> list | None:
    """`rtmusic.bench.quality.rtmusic_system` for each model name, or None after printing why one cannot load."""
    from rtmusic.bench.quality import rtmusic_system
    from rtmusic.errors import RtmusicError

    try:
        return [rtmusic_system(name, samplerate) for name in names]
    except RtmusicError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def add_run_arguments(parser: argparse.ArgumentParser, default_out: Path) -> None:
    """The options every quality bench shares: --model, --competitors, --out, --data-dir, --no-progress."""
    parser.add_argument("--model", nargs="+", default=["default"], metavar="NAME",
                        help="rtmusic models: default, lookahead, bypass or a .rtm path (default: default)")
    parser.add_argument("--competitors", default="none", help="comma-separated competitors, or 'none' (default)")
    parser.add_argument("--out", type=Path, default=default_out, help=f"output folder (default: {default_out})")
    parser.add_argument("--data-dir", type=Path, default=None, help="rendered data (default: $RTMUSIC_DATA)")
    parser.add_argument("--no-progress", action="store_true")


def competitor_names(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """`--competitors` ("rnnoise,dtln" or "none") as a list of known names; an unknown one is a usage error."""
    from rtmusic.bench import competitors as comp

    names = [] if text.strip().lower() in ("", "none") else [c.strip() for c in text.split(",")]
    unknown = [n for n in names if n not in comp.COMPETITORS]
    if unknown:
        parser.error(f"unknown competitor(s) {', '.join(unknown)}; known: {', '.join(comp.COMPETITORS)}")
    return names


def all_systems(prog: str, models: list[str], competitors: list[str]) -> list | None:
    """The rtmusic models' systems and then the competitors' (one not installed is skipped, saying why), or None
    after printing why a model cannot load."""
    from rtmusic.bench import competitors as comp
    from rtmusic.bench.quality import competitor_system

    systems = rtmusic_systems(prog, models)
    if systems is None:
        return None
    for name in competitors:
        try:
            systems.append(competitor_system(comp.COMPETITORS[name]))
        except comp.CompetitorUnavailable as exc:
            print(f"{prog}: skipping {name}: {exc}", file=sys.stderr)
    return systems
