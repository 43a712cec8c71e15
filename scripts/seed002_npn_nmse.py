"""Seed 002: NPN vs LS channel-estimate NMSE vs SNR after a short Algorithm-1 pre-training.

For each antenna size and channel (i.i.d. Rayleigh; narrowband samples of 38.901 UMi at the same
UPAs, the P2P link's channels; spatially correlated Kronecker Rayleigh with rho = 0.9), an NPN at
the LCFSC defaults (width 16, K = 4 basis vectors) is pre-trained by Algorithm 1 (pilots through
channel samples at SNRs uniform in 0..20 dB, LS, NPN, MSE, Adam --lr, default 3e-3) for --steps steps of 64
samples, then NPN and LS are evaluated on 4000 held-out draws (another seed; from a bank of 1024 matrices for UMi) at each SNR.
Writes npn_nmse.csv (one row per point) and npn_nmse.json (settings, commit).

    nice -n 10 python scripts/seed002_npn_nmse.py --out results/seed002_npn_nmse
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import sionna
import tensorflow as tf

import linksim.plugins
from linksim.config import Scenario
from linksim.nn.channel import ChannelBank
from linksim.nn.npn import NoisePurifiedNetwork, npn_pretrain_step
from linksim.phy.p2p_estimation import LSP2PEstimator, nmse, send_pilots

ARRAYS = {2: (1, 2), 4: (2, 2), 8: (2, 4)}


def scenario(n: int, model: str) -> Scenario:
    rows, cols = ARRAYS[n]
    array = {"num_rows": rows, "num_cols": cols, "polarization": "single",
             "polarization_type": "V", "pattern": "omni"}
    return Scenario.model_validate({"link": "p2p_mimo", "runtime": {"mode": "graph"},
                                    "channel": {"model": model},
                                    "ofdm": {"fft_size": 8, "cyclic_prefix_length": 4},
                                    "bs": {"array": array}, "ue": {"num_users": 1, "array": array}})


def sampler(n: int, model: str, size: int, seed: int):
    """draw(batch) -> h [batch, n, n] from a bank of ``size`` matrices (Kronecker: exact draws)."""
    if model == "kronecker":
        r = 0.9 ** np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
        w, v = np.linalg.eigh(r)
        sq = tf.constant((v * np.sqrt(w)) @ v.T, tf.complex64)
        rng = tf.random.Generator.from_seed(seed)
        return lambda b: sq @ (tf.complex(rng.normal([b, n, n]), rng.normal([b, n, n])) / np.sqrt(2.0)) @ sq
    bank = ChannelBank(scenario(n, model), (model,), size=size, seed=seed).bank
    rng = tf.random.Generator.from_seed(seed)
    return lambda b: tf.gather(bank, rng.uniform([b], 0, size, dtype=tf.int32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--antennas", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--channels", nargs="+", default=["rayleigh", "umi", "kronecker"])
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam step size")
    args = parser.parse_args()
    linksim.plugins.load_all()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.antennas:
        for model in args.channels:
            keras.utils.set_random_seed(2)
            sionna.phy.config.seed = 2
            train, test = sampler(n, model, 4096, 1), sampler(n, model, 1024, 7)
            npn = NoisePurifiedNetwork(n, n, float(n), width=16, basis=4)
            opt = keras.optimizers.Adam(args.lr)
            step = tf.function(lambda h, no: npn_pretrain_step(npn, opt, h, no))
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(train(64), 10 ** (-tf.random.uniform([64], 0.0, 20.0) / 10))
            train_s = time.perf_counter() - t0
            h = test(4000)
            for snr in range(0, 21, 4):
                no = tf.fill([4000], 10 ** (-snr / 10))
                y = send_pilots(h, npn.pilots, no)
                row = {"antennas": f"{n}x{n}", "channel": model, "snr_db": snr,
                       "nmse_ls_db": round(10 * np.log10(float(nmse(LSP2PEstimator(n, n, float(n))(y, no), h))), 3),
                       "nmse_npn_db": round(10 * np.log10(float(nmse(npn(y, no), h))), 3),
                       "train_steps": args.steps, "train_s": round(train_s, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    keys = list(rows[0])
    (args.out / "npn_nmse.csv").write_text("\n".join([",".join(keys)] + [
        ",".join(str(r[k]) for k in keys) for r in rows]) + "\n")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (args.out / "npn_nmse.json").write_text(json.dumps({
        "steps": args.steps, "lr": args.lr, "batch": 64, "train_snr_db": [0, 20], "test_channels": 4000,
        "npn": {"width": 16, "basis": 4}, "pilots": "DFT N_T x N_T, power N_T (per_antenna)",
        "git_commit": commit, "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2))


if __name__ == "__main__":
    main()
