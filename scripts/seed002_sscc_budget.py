"""Seed 002: can JPEG / BPG + LDPC + QAM + SVD carry a CIFAR-10 image at the semantic models' CBR at all?

At CBR R the link carries 3 H W R real values = 3 H W R / 2 complex symbols per image; with QAM of
m bits and LDPC rate r the digital baseline gets floor(3 H W R / 2 * m * r) - 16 (CRC16) payload
bits, at any SNR. This counts, for CIFAR-10 test images, the share whose smallest payload
(rate control of linksim.source: the worst quality) fits, and the mean PSNR of the best quality
that fits (error-free channel: the baseline's best case), per CBR, codec and MCS.

    python scripts/seed002_sscc_budget.py --out results/seed002_sscc_budget
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import linksim.plugins
from linksim.data import load_images
from linksim.data.metrics import psnr
from linksim.registry import CODECS
from linksim.source.rate_control import fit_to_budget

MCS = ((4, 0.5), (16, 0.5), (64, 0.75), (256, 0.93))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num-images", type=int, default=200)
    args = parser.parse_args()
    linksim.plugins.load_all()
    images = load_images("auto", "test", limit=args.num_images, seed=0).images
    rows = []
    for cbr in (0.02, 0.04, 0.06, 0.1, 0.2):
        symbols = int(3 * 32 * 32 * cbr) // 2
        for qam, rate in MCS:
            budget = int(symbols * int(np.log2(qam)) * rate) - 16
            for name in ("jpeg", "bpg"):
                codec = CODECS[name]()
                fits, quality = 0, []
                for image in images:
                    enc = fit_to_budget(codec, image, max(budget, 1)) if budget > 0 else None
                    if enc is not None and enc.ok:
                        fits += 1
                        quality.append(psnr(image[None], codec.decode(enc.payload, image.shape)[None])[0])
                rows.append({"cbr": cbr, "symbols": symbols, "qam": qam, "rate": rate,
                             "payload_bits": budget, "codec": name,
                             "fit_share": round(fits / len(images), 3),
                             "psnr_fitted_db": round(float(np.mean(quality)), 2) if quality else None,
                             "psnr_all_db": round(float(np.sum(quality)) / len(images), 2)})
                print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0])
    (args.out / "sscc_budget.csv").write_text("\n".join([",".join(keys)] + [
        ",".join(str(r[k]) for k in keys) for r in rows]) + "\n")


if __name__ == "__main__":
    main()
