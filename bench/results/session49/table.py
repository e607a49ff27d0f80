"""Print, per candidate folder of robust_eval.sh, its clip-by-clip difference against the default on every set.

    python bench/results/session49/table.py bench/results/session49/<NAME> ...
"""
import json
import sys
from pathlib import Path

QUALITY = ("quality_val", "quality_via44100", "quality_noise_via44100", "quality_noise_via16000")
REAL = ("real_audio", "real_audio_noise_lowpass8000")


def quality_cells(folder: Path) -> str:
    results = json.loads((folder / "results.json").read_text())
    (row,) = results["paired"].values()
    return " / ".join(f"{row[k]['mean_db']:+.2f}" for k in ("music", "speech"))


def real_cells(folder: Path) -> str:
    from bench.real_audio import cells
    results = json.loads((folder / "results.json").read_text())
    table = cells(results)
    second = list(results["systems"])[1]
    return " / ".join(f"{table[(kind, 'all')][second][1]:+.2f}" for kind in ("voice", "instrument"))


print("| candidate | " + " | ".join(QUALITY + REAL) + " |")
for name in sys.argv[1:]:
    folder = Path(name)
    shown = [quality_cells(folder / q) if (folder / q / "results.json").exists() else "-" for q in QUALITY]
    shown += [real_cells(folder / r) if (folder / r / "results.json").exists() else "-" for r in REAL]
    print(f"| {folder.name} | " + " | ".join(shown) + " |")
