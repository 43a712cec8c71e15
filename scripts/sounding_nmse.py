"""Seed 000 Table I with classical estimators: NMSE vs pilot OFDM symbols L at 20 dB.

8x8 half-wavelength BS UPA (N_t = 64), K = 4 users, N_c = 64 subcarriers,
L_p = 2 paths (``sparse_multipath``), L in {4, 8, 16, 32, 64}; estimators
ls, lmmse, omp of :mod:`linksim.phy.sounding`, next to the paper's GMMV-LAMP.
Two SNR conventions (the paper does not define its SNR):

- ``per_antenna`` (linksim's): every pilot entry unit modulus, ||p_l||^2 = N_t,
  SNR = 1/N0 per antenna and RE (receive SNR per pilot RE N_t/N0, +18 dB);
- ``total``: ||p_l||^2 = 1, so SNR = 1/N0 is the receive SNR per pilot RE.

    PYTHONPATH=$PWD python scripts/sounding_nmse.py [--draws 64] [--out results/seed000_table1_nmse]

Writes nmse.csv (one row per convention, estimator, L), nmse.json (config,
seeds, versions, wall time) and nmse.png.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

PAPER = {4: 0.205, 8: 0.063, 16: 0.020, 32: 0.011, 64: 0.006}   # seed 000 Table I, GMMV-LAMP


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=64, help="slots per L (x 4 users)")
    ap.add_argument("--snr-db", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default="results/seed000_table1_nmse")
    args = ap.parse_args()

    from linksim.cli import script_main

    script_main(lambda: measure(args))


def measure(args) -> None:
    import sionna

    from linksim.config import Scenario
    from linksim.experiments.provenance import provenance
    from linksim.phy.sounding import SOUNDING_ESTIMATORS, nmse_vs_pilots

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    l_values = [4, 8, 16, 32, 64]
    t0 = time.time()
    base = {
        "name": "seed000_table1", "runtime": {"mode": "eager"},
        "ofdm": {"fft_size": 64, "cyclic_prefix_length": 16},
        "channel": {"model": "sparse_multipath", "num_paths": 2, "normalize": True},
        "bs": {"array": {"num_rows": 8, "num_cols": 8, "polarization": "single",
                         "polarization_type": "V", "pattern": "omni"}},
        "ue": {"num_users": 4},
    }
    rows, runs = [], {}
    for i, power in enumerate(["per_antenna", "total"]):
        sc = Scenario.model_validate({**base, "precoder": {"power": power}})
        seed = args.seed + i
        sionna.phy.config.seed = seed
        res = nmse_vs_pilots(sc, l_values, args.snr_db, args.draws, batch_size=16)
        runs[power] = {"seed": seed, "config": sc.model_dump(mode="json"), **res}
        for est in SOUNDING_ESTIMATORS:
            for l in l_values:
                rows.append({"snr_convention": power, "estimator": est, "L": l,
                             "nmse": res["nmse"][est][l], "nmse_db": res["nmse_db"][est][l],
                             "ls_theory": res["theory_ls"][l], "paper_gmmv_lamp": PAPER[l]})
        print(power, {e: {l: round(v, 4) for l, v in res["nmse"][e].items()} for e in res["nmse"]},
              f"{res['wall_time_s']:.1f} s", flush=True)
    with open(out / "nmse.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    meta = {"what": "seed 000 Table I (NMSE vs pilot OFDM symbols) with ls/lmmse/omp",
            "snr_db": args.snr_db, "draws_per_L": args.draws, "L": l_values,
            "nmse_definition": "sum ||H_hat - H||_F^2 / sum ||H||_F^2 over users, subcarriers, draws",
            "paper_table_i_gmmv_lamp": PAPER, "runs": runs,
            "wall_time_s": time.time() - t0, **provenance()}
    (out / "nmse.json").write_text(json.dumps(meta, indent=1, default=str))
    plot(rows, l_values, out / "nmse.png", args.snr_db)
    print(f"wrote {out}/nmse.csv .json .png in {time.time() - t0:.0f} s")


def plot(rows, l_values, path, snr_db) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    styles = {"per_antenna": "-", "total": "--"}
    for conv, ls in styles.items():
        for est, color in zip(["ls", "lmmse", "omp"], ["C0", "C1", "C2"]):
            ys = [r["nmse"] for r in rows if r["snr_convention"] == conv and r["estimator"] == est]
            ax.semilogy(l_values, ys, ls, color=color, marker="o", label=f"{est} ({conv})")
    ax.semilogy(l_values, [PAPER[l] for l in l_values], "k:", marker="s",
                label="GMMV-LAMP (paper, Table I)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(l_values, [str(l) for l in l_values])
    ax.set_xlabel("pilot OFDM symbols L")
    ax.set_ylabel("NMSE")
    ax.set_title(f"8x8 UPA, K=4, N_c=64, L_p=2, SNR {snr_db:g} dB")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
