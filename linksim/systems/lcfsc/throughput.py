"""Training throughput of the LCFSC system at 2 x 2, the CIFAR-10 epoch it implies, and the paper-width cost.

What is timed is one compiled :meth:`LCFSCSystem.train_step` (graph mode,
no XLA, :func:`linksim.systems.timing.time_train_steps`): i.i.d. Rayleigh
channel and SNR draw, pilots + NPN, the proxy encoder pass and the R-CVAE,
the CSI fusion Swin encoder (NI-CFMA), power normalisation, SVD precoding,
y = Hx + n, detection, the Swin decoder, MS-SSIM loss, backward pass and the
Adam update. Random pixels stand in for images.

Command (writes nothing; the committed numbers are in
``results/seed002_lcfsc_throughput/``)::

    nice -n 10 python -m linksim.systems.lcfsc.throughput --out results/seed002_lcfsc_throughput
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import tensorflow as tf

from linksim.config import Scenario
from linksim.nn.channel import OnlineChannels
from linksim.systems.lcfsc.config import PAPER_WIDTHS, LCFSCConfig
from linksim.systems.lcfsc.model import build_system
from linksim.systems.timing import time_train_steps

UDIS_D_TRAIN = 10_440
"""UDIS-D training images (the paper's data set: "over 10,000")."""

_ARRAYS = {2: (1, 2), 4: (2, 2), 8: (2, 4), 16: (4, 4)}


def p2p_scenario(antennas: int = 2, channel: str = "rayleigh", **semantic) -> Scenario:
    """A ``link: p2p_mimo`` scenario with N_T = N_R = ``antennas`` (single-polarised omni UPAs) and LCFSC."""
    rows, cols = _ARRAYS[antennas]
    array = {"num_rows": rows, "num_cols": cols, "polarization": "single",
             "polarization_type": "V", "pattern": "omni"}
    return Scenario.model_validate({
        "link": "p2p_mimo", "runtime": {"mode": "graph"}, "channel": {"model": channel},
        "ofdm": {"fft_size": 8, "cyclic_prefix_length": 4}, "bs": {"array": array}, "ue": {"num_users": 1, "array": array},
        "semantic": {"system": "lcfsc", "num_tx_ant": antennas, "num_rx_ant": antennas,
                     **semantic}})


def train_throughput(scenario: Scenario, cfg: LCFSCConfig | None = None, batch: int = 16,
                     steps: int = 4) -> dict:
    """Time ``steps`` compiled training steps of ``batch`` images (joint phase, the costliest).

    Returns the timing of :func:`~linksim.systems.timing.time_train_steps`,
    ``parameters`` (per block and total) and the configuration.
    """
    cfg = cfg or scenario.semantic
    system = build_system(scenario, cfg)
    system.channel_sampler = OnlineChannels(scenario, ("rayleigh",), cfg.train_snr_db)
    s = cfg.image_size
    data = (tf.random.uniform([batch, 1, s, s, 3]), tf.zeros([batch, 1], tf.int32))
    timing = time_train_steps(system, data, batch, steps)
    parts = system.component_parameters()
    return {"model": cfg.model, "antennas": f"{cfg.num_tx_ant}x{cfg.num_rx_ant}",
            "image_size": s, "cbr": cfg.cbr, "symbols": system.n_sym, "csi": cfg.csi,
            "embed_dims": list(cfg.embed_dims), "depths": list(cfg.depths),
            "heads": list(cfg.heads), "window_size": cfg.window_size,
            "parameters": {**parts, "total": sum(parts.values())}, **timing}


def paper_cost(batch: int = 2, steps: int = 1) -> dict:
    """The model at :data:`PAPER_WIDTHS` (128 x 128 images, 2 x 2): parameters and timed training steps.

    A paper step is 16 images; the epoch estimate is ``UDIS_D_TRAIN`` images
    at the measured rate (batches of ``batch`` here: a lower bound on the
    time of the paper's, whose activations per step are 8x as many).
    """
    sc = p2p_scenario(2, **PAPER_WIDTHS)
    out = train_throughput(sc, sc.semantic, batch=batch, steps=steps)
    out["udis_d_epoch_h"] = round(UDIS_D_TRAIN / out["images_per_s"] / 3600, 1)
    out["s_per_paper_step_16"] = round(16 / out["images_per_s"], 1)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LCFSC training throughput (module docstring)")
    parser.add_argument("--out", type=Path, default=None, help="write throughput.json and .csv here")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--skip-paper", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for model in ("lcfsc", "witt", "adjscc"):
        sc = p2p_scenario(2, model=model)
        rows.append({"widths": "default", **train_throughput(sc, steps=args.steps)})
        print(json.dumps(rows[-1]))
    if not args.skip_paper:
        rows.append({"widths": "paper", **paper_cost()})
        print(json.dumps(rows[-1]))
    if args.out is not None:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "throughput.json").write_text(json.dumps(
            {"rows": rows, "git_commit": commit.strip(), "tensorflow": tf.__version__,
             "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2))
        keys = ["widths", "model", "antennas", "image_size", "batch_images", "s_per_step",
                "images_per_s", "epoch_min", "cpu_s_per_image", "cpu_cores_used", "load_avg_1min"]
        lines = [",".join(keys + ["parameters"])]
        lines += [",".join(str(r.get(k, "")) for k in keys) + f",{r['parameters']['total']}"
                  for r in rows]
        (args.out / "throughput.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
