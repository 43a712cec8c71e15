"""Seed 002 Fig. 13: the learned mask ratio m* of a trained LCFSC model vs SNR, and its distribution.

The trained run's weights (``--weights``, a ``linksim train`` folder, e.g. runs/seed002_2x2/lcfsc/joint)
are rebuilt by the generic evaluation's loader; CIFAR-10 test images (``--num-images``) go through
the scenario's P2P link at each SNR with the evaluation's realisation seeds
(linksim.experiments.semantic_eval.SemanticLink), and every image's m* is recorded. Writes
mask_ratio.csv (per SNR: mean, std, share of m* in the paper's ranges [0, 0.005), [0.005, 0.009),
[0.009, 0.015], PSNR) and mask_ratio.json.

    python scripts/seed002_mask_ratio.py scenarios/training/seed002_fig9_psnr.yaml \
        --weights runs/seed002_2x2/lcfsc/joint --out results/seed002_mask_ratio
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import sionna
import tensorflow as tf

import linksim.plugins
from linksim.config import load_scenario, with_overrides
from linksim.data import load_images
from linksim.data.metrics import psnr
from linksim.experiments.semantic_eval import channel_draw, load_system
from linksim.experiments.slots import realisation_seed
from linksim.phy.noise import snr_db_to_no
from linksim.systems.checkpoints import find_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num-images", type=int, default=500)
    parser.add_argument("--channel", default="rayleigh")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    linksim.plugins.load_all()
    sc = with_overrides(load_scenario(args.scenario), {"channel.model": args.channel})
    trained = find_weights(args.weights, sc, "lcfsc", system="lcfsc")
    model = load_system(sc, trained)
    draw = channel_draw(sc)
    images = load_images("auto", "test", limit=args.num_images, seed=0).images
    forward = tf.function(model)
    rows = []
    for snr in range(0, 21, 4):
        ratios, quality = [], []
        for b in range(0, len(images), args.batch):
            x = images[b:b + args.batch]
            sionna.phy.config.seed = realisation_seed(sc, snr, b // args.batch)
            h = draw(len(x))
            out = forward({"images": tf.constant(x[:, None], tf.float32) / 255.0, "h": h,
                           "no": tf.fill([len(x)], tf.constant(snr_db_to_no(snr), tf.float32))})
            ratios.append(out["mask_ratio"].numpy())
            rec = np.clip(np.round(out["reconstruction"].numpy()[:, 0] * 255), 0, 255).astype(np.uint8)
            quality.append(psnr(x, rec))
        m = np.concatenate(ratios)
        rows.append({"snr_db": snr, "channel": args.channel, "num_images": len(m),
                     "mean_ratio": round(float(m.mean()), 6), "std_ratio": round(float(m.std()), 6),
                     "share_low": round(float(np.mean(m < 0.005)), 4),
                     "share_mid": round(float(np.mean((m >= 0.005) & (m < 0.009))), 4),
                     "share_high": round(float(np.mean(m >= 0.009)), 4),
                     "psnr_db": round(float(np.concatenate(quality).mean()), 3)})
        print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0])
    (args.out / "mask_ratio.csv").write_text("\n".join([",".join(keys)] + [
        ",".join(str(r[k]) for k in keys) for r in rows]) + "\n")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (args.out / "mask_ratio.json").write_text(json.dumps({
        "weights": trained.summary, "scenario": str(args.scenario), "git_commit": commit,
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2, default=str))


if __name__ == "__main__":
    main()
