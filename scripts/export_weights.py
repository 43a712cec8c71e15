"""Copy trained models into the folder a scenario's ``weights`` pattern points to.

For each ``linksim train`` output directory: ``best.weights.h5`` without the
optimizer's slots (Keras stores Adam's two moments beside every weight, 3x the
size; evaluation does not need them), ``state.json`` (epochs, wall time,
configuration, provenance) and the logs ``history.csv`` / ``batches.csv``
(``--no-step-log``: without ``batches.csv``, the per-step loss, up to 1 MB
for a long run with small batches).

    python scripts/export_weights.py runs/umi_4x4/train_full runs/umi_4x4/train_rzf --to models/umi_4x4
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import h5py


def export(run: Path, dest: Path, step_log: bool = True) -> Path:
    model = json.loads((run / "state.json").read_text())["model"]
    out = dest / model
    out.mkdir(parents=True, exist_ok=True)
    with h5py.File(run / "best.weights.h5", "r") as src, h5py.File(out / "best.weights.h5", "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            if name != "optimizer":
                src.copy(src[name], dst, name)
    for name in ("state.json", "history.csv", *(["batches.csv"] if step_log else [])):
        shutil.copy2(run / name, out / name)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="'linksim train' output directories")
    p.add_argument("--to", type=Path, required=True, help="e.g. models/umi_4x4")
    p.add_argument("--no-step-log", action="store_true", help="leave batches.csv (per-step loss) out")
    args = p.parse_args()
    for run in args.runs:
        out = export(run, args.to, step_log=not args.no_step_log)
        size = (out / "best.weights.h5").stat().st_size / 2**20
        print(f"{run} -> {out} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
