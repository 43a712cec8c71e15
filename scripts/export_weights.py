"""Copy trained models into the folder a scenario's ``weights`` pattern points to.

For each ``linksim train`` output directory: ``best.weights.h5`` without the
optimizer's slots (Keras stores Adam's two moments beside every weight, 3x the
size; evaluation does not need them), ``state.json`` (epochs, wall time,
configuration, provenance) and the logs ``history.csv`` / ``batches.csv``
(``--no-step-log``: without ``batches.csv``, the per-step loss, up to 1 MB
for a long run with small batches). Large weights are stored compressed
(lossless; Keras reads them as they are); ``--half`` also rounds every kernel
to float16 (lossy: half the size, for a model that does not fit the 30 MB
budget otherwise; biases and normalisation statistics stay float32; its
evaluation must load the exported folder, whose state.json, and so every
evaluation's record of the weights, says ``exported``). An
exported folder given as the run is recompressed in place. A folder that is
not a training output ends in one line, exit 2, before anything is written.

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
import numpy as np

from linksim.cli import script_main
from linksim.config import ConfigError


#: Weights with at least this many values are stored gzip-compressed after a byte shuffle
#: (lossless). Why: float32 kernels compress by about 10 % that way (the DJSCC model's 14.5 MB
#: to 12.9), which is room in the 30 MB budget for committed weights; smaller datasets would
#: grow (chunk overhead), so they stay as they are.
COMPRESS_FROM = 2**16
#: ``--half`` rounds float32 weights with at least this many values (kernels) to float16 and
#: keeps the smaller ones (biases, normalisation statistics, gates) exact. Why this low: in the
#: conv models most weights sit in kernels of 1e3-6e4 values; rounding only those above
#: ``COMPRESS_FROM`` saved 1.1 of 5.8 MiB, these 2.8; test PSNR moved by <= 7e-4 dB.
HALF_FROM = 2**10
#: float16's largest finite value: a weight beyond it keeps float32 under ``--half``.
F16_MAX = float(np.finfo(np.float16).max)


def export(run: Path, dest: Path, step_log: bool = True, half: bool = False) -> Path:
    """Copy ``run``'s best weights (no optimizer slots) and logs into ``dest/<model>``.

    ``run`` may be an exported folder itself (``dest/<model>``): its weights are then
    recompressed in place. ``half``: float32 kernels are stored as float16 (lossy,
    half the size; Keras loads them into its float32 variables), and ``state.json`` says so.
    """
    state = json.loads((run / "state.json").read_text())
    out = dest / state["model"]
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "best.weights.h5.tmp"
    with h5py.File(run / "best.weights.h5", "r") as src, h5py.File(tmp, "w") as dst:
        _copy(src, dst, half)
    os.replace(tmp, out / "best.weights.h5")
    for name in ("state.json", "history.csv", *(["batches.csv"] if step_log else [])):
        if (run / name).resolve() != (out / name).resolve():
            shutil.copy2(run / name, out / name)
    if half:  # the evaluation's provenance (state.json) must say the weights were rounded
        state["exported"] = {"float16_from_values": HALF_FROM}
        (out / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    return out


def _copy(src: h5py.Group, dst: h5py.Group, half: bool = False) -> None:
    """``src`` into ``dst`` without the optimizer, large datasets compressed, attributes kept."""
    dst.attrs.update(src.attrs)
    for name, item in src.items():
        if name == "optimizer" and src.name == "/":
            continue
        if isinstance(item, h5py.Group):
            _copy(item, dst.create_group(name), half)
            continue
        value = item[()]
        big = item.size >= COMPRESS_FROM
        if half and item.size >= HALF_FROM and value.dtype == np.float32 and np.abs(value).max() < F16_MAX:
            value = value.astype(np.float16)
        data = dst.create_dataset(name, data=value, **(
            {"compression": "gzip", "compression_opts": 9, "shuffle": True} if big else {}))
        data.attrs.update(item.attrs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="'linksim train' output directories")
    p.add_argument("--to", type=Path, required=True, help="e.g. models/umi_4x4")
    p.add_argument("--no-step-log", action="store_true", help="leave batches.csv (per-step loss) out")
    p.add_argument("--half", action="store_true",
                   help="store weights of >= 1,024 values (kernels) as float16 (lossy, half the size; "
                        "evaluate the exported folder, not the run); state.json records it")
    args = p.parse_args()
    for run in args.runs:  # all checked before any is written
        missing = [n for n in ("state.json", "best.weights.h5") if not (run / n).is_file()]
        if missing:
            raise ConfigError(f"{run}: no {missing[0]}; not a 'linksim train' output or exported model")
    for run in args.runs:
        out = export(run, args.to, step_log=not args.no_step_log, half=args.half)
        size = (out / "best.weights.h5").stat().st_size / 2**20
        print(f"{run} -> {out} ({size:.1f} MB)")


if __name__ == "__main__":
    script_main(main)
