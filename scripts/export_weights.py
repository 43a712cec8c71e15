"""Copy trained models into the folder a scenario's ``weights`` pattern points to.

For each ``linksim train`` output directory: ``best.weights.h5`` without the
optimizer's slots (Keras stores Adam's two moments beside every weight, 3x the
size; evaluation does not need them), ``state.json`` (epochs, wall time,
configuration, provenance) and the logs ``history.csv`` / ``batches.csv``
(``--no-step-log``: without ``batches.csv``, the per-step loss, up to 1 MB
for a long run with small batches). Large weights are stored compressed
(lossless; Keras reads them as they are). An exported folder given as the run
is recompressed in place. A folder that is not a training output ends in one
line, exit 2, before anything is written.

    python scripts/export_weights.py runs/umi_4x4/train_full runs/umi_4x4/train_rzf --to models/umi_4x4
    python scripts/export_weights.py models/umi_4x4/djscc --to models/umi_4x4     # recompress
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import h5py

from linksim.cli import script_main
from linksim.config import ConfigError


#: Weights with at least this many values are stored gzip-compressed after a byte shuffle
#: (lossless). Why: float32 kernels compress by about 10 % that way (the DJSCC model's 14.5 MB
#: to 12.9), which is room in the 30 MB budget for committed weights; smaller datasets would
#: grow (chunk overhead), so they stay as they are.
COMPRESS_FROM = 2**16


def export(run: Path, dest: Path, step_log: bool = True) -> Path:
    """Copy ``run``'s best weights (no optimizer slots) and logs into ``dest/<model>``.

    ``run`` may be an exported folder itself (``dest/<model>``): its weights are then
    recompressed in place.
    """
    model = json.loads((run / "state.json").read_text())["model"]
    out = dest / model
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "best.weights.h5.tmp"
    with h5py.File(run / "best.weights.h5", "r") as src, h5py.File(tmp, "w") as dst:
        _copy(src, dst)
    os.replace(tmp, out / "best.weights.h5")
    for name in ("state.json", "history.csv", *(["batches.csv"] if step_log else [])):
        if (run / name).resolve() != (out / name).resolve():
            shutil.copy2(run / name, out / name)
    return out


def _copy(src: h5py.Group, dst: h5py.Group) -> None:
    """``src`` into ``dst`` without the optimizer, large datasets compressed, attributes kept."""
    dst.attrs.update(src.attrs)
    for name, item in src.items():
        if name == "optimizer" and src.name == "/":
            continue
        if isinstance(item, h5py.Group):
            _copy(item, dst.create_group(name))
            continue
        big = item.size >= COMPRESS_FROM
        data = dst.create_dataset(name, data=item[()], **(
            {"compression": "gzip", "compression_opts": 9, "shuffle": True} if big else {}))
        data.attrs.update(item.attrs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="'linksim train' output directories")
    p.add_argument("--to", type=Path, required=True, help="e.g. models/umi_4x4")
    p.add_argument("--no-step-log", action="store_true", help="leave batches.csv (per-step loss) out")
    args = p.parse_args()
    for run in args.runs:  # all checked before any is written
        missing = [n for n in ("state.json", "best.weights.h5") if not (run / n).is_file()]
        if missing:
            raise ConfigError(f"{run}: no {missing[0]}; not a 'linksim train' output or exported model")
    for run in args.runs:
        out = export(run, args.to, step_log=not args.no_step_log)
        size = (out / "best.weights.h5").stat().st_size / 2**20
        print(f"{run} -> {out} ({size:.1f} MB)")


if __name__ == "__main__":
    script_main(main)
