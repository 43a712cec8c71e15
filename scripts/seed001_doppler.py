"""Temporal correlation of seed 001's uplink channels across OFDM symbols vs Clarke/Jakes' J0.

For every entry of H[k, q, n] the measured R(t_q) = E[h(t_q) h*(t_0)] / E|h|^2,
pooled over frames, UEs, antenna pairs and subcarriers, is printed as a
Markdown table beside the Jakes prediction: J0(2 pi f_D t) at a fixed speed,
and its average over v ~ U[v_lo, v_hi] for a speed range (the paper's
U[0, 120] km/h). The per-entry correlation does not depend on the array sizes
(each path term of an entry is the path's gain times unit-modulus phases), so
small arrays keep the run cheap; carrier 28 GHz as in the paper; the grid
(subcarrier spacing, CP) is the stated assumption, the paper gives only N_c.

    python scripts/seed001_doppler.py --speed 120 120 --speed 0 120 --model sparse_multipath_uplink cdl_uplink
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from scipy.special import j0  # noqa: E402

C = 299792458.0


def jakes(times: np.ndarray, speed_kmh: tuple[float, float], carrier: float) -> np.ndarray:
    """E_v[J0(2 pi v f_c / c t)] for v ~ U[speed_kmh] (a point mass if low == high)."""
    lo, hi = speed_kmh
    v = np.array([lo]) if hi == lo else np.linspace(lo, hi, 2001)
    f_d = v / 3.6 * carrier / C
    return j0(2 * math.pi * f_d[:, None] * times[None, :]).mean(0)


def measure(model: str, speed_kmh, args) -> tuple[np.ndarray, np.ndarray, float]:
    """(t_q [s], measured R(t_q) real part, seconds) over ``args.frames`` frames in chunks."""
    import sionna

    import linksim.plugins
    from linksim.config import Scenario
    from linksim.phy.channels import CHANNELS
    from linksim.phy.ofdm import resource_grid

    linksim.plugins.load_all()
    sionna.phy.config.seed = args.seed
    ula = lambda n: {"array": {"num_rows": 1, "num_cols": n, "polarization": "single",  # noqa: E731
                               "polarization_type": "V", "pattern": "omni"}}
    sc = Scenario.model_validate(dict(
        link="mu_mimo_uplink", runtime={"mode": "eager"},
        channel={"model": model, "carrier_frequency": args.carrier, "num_paths": args.paths,
                 "normalize": False},
        ue={"num_users": 2, **ula(args.n_t)}, bs=ula(args.n_r),
        ofdm={"fft_size": args.fft, "num_ofdm_symbols": args.symbols,
              "subcarrier_spacing": args.scs, "cyclic_prefix_length": args.cp,
              "pilot_ofdm_symbol_indices": [0]},
        hybrid={"speed_kmh": list(speed_kmh), "csi_rs_symbols": args.symbols - 1,
                "num_tx_symbols": 1}))
    rg = resource_grid(sc)
    channel = CHANNELS[model](sc, rg)
    start = time.time()
    num, den, left = 0.0, 0.0, args.frames
    while left > 0:
        h = channel(min(left, 250)).numpy()
        num = num + np.sum(h * np.conj(h[..., :1, :]), axis=(0, 1, 2, 3, 4, 6))
        den = den + np.sum(np.abs(h) ** 2) / h.shape[-2]
        left -= h.shape[0]
    times = np.arange(args.symbols) * rg.ofdm_symbol_duration
    return times, (num / den).real, time.time() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", default=["sparse_multipath_uplink"])
    p.add_argument("--speed", nargs=2, type=float, action="append", metavar=("LOW", "HIGH"),
                   help="km/h range (repeatable); default the paper's 0 120 and a fixed 120")
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--paths", type=int, default=4)
    p.add_argument("--carrier", type=float, default=28e9)
    p.add_argument("--scs", type=float, default=120e3, help="subcarrier spacing [Hz] (FR2 numerology 3)")
    p.add_argument("--fft", type=int, default=16)
    p.add_argument("--cp", type=int, default=2)
    p.add_argument("--symbols", type=int, default=14)
    p.add_argument("--n-t", type=int, default=2)
    p.add_argument("--n-r", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    speeds = [tuple(s) for s in args.speed] if args.speed else [(120.0, 120.0), (0.0, 120.0)]
    if any(s[0] < 0 or s[1] < s[0] for s in speeds):
        print("error: --speed needs 0 <= LOW <= HIGH (km/h)", file=sys.stderr)
        return 2
    print(f"carrier {args.carrier / 1e9:g} GHz, {args.scs / 1e3:g} kHz, CP {args.cp}/{args.fft}, "
          f"{args.paths} paths, {args.frames} frames x 2 UEs x {args.n_r}x{args.n_t} antennas x "
          f"{args.fft} subcarriers\n")
    for model in args.model:
        for speed in speeds:
            t, r, secs = measure(model, speed, args)
            ref = jakes(t, speed, args.carrier)
            print(f"### {model}, v ~ U[{speed[0]:g}, {speed[1]:g}] km/h ({secs:.1f} s)\n")
            print("| q | t [us] | measured R | Jakes | diff |\n|---|---|---|---|---|")
            for q in range(len(t)):
                print(f"| {q} | {t[q] * 1e6:.1f} | {r[q]:+.3f} | {ref[q]:+.3f} | {r[q] - ref[q]:+.3f} |")
            print(f"\nmax |diff| = {np.max(np.abs(r - ref)):.3f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
