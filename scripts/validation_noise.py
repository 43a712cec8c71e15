"""How much does the validation PSNR of one fixed model move between passes?

Evaluates a trained model on its scenario's validation split several times,
with training-like random draws in between: once with fresh channels, SNRs
and noise every pass (how validation worked before ``FixedValidationDraws``)
and once with the fixed draws ``linksim train`` now uses. The spread of the
first is the noise early stopping and best-weight selection used to see.

    LINKSIM_DATA=../shared/datasets/cifar10-jpeg python scripts/validation_noise.py \\
        scenarios/training/umi_4x4_conv_deep8w_bs8.yaml --passes 4

A bad scenario, one without a semantic experiment, or missing weights end in
one line, exit 2.
"""
from __future__ import annotations

import argparse

import numpy as np
import sionna

from linksim.cli import script_main
from linksim.config import ConfigError, load_scenario
from linksim.experiments.provenance import derived_seed
from linksim.experiments.semantic_eval import load_system
from linksim.systems.checkpoints import find_weights
from linksim.experiments.train import FixedValidationDraws, _validation, slot_datasets
from linksim.nn.channel import training_sampler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="a scenario whose semantic experiment names committed weights")
    p.add_argument("--model", default="full")
    p.add_argument("--passes", type=int, default=4)
    args = p.parse_args()
    if args.passes < 2:
        raise ConfigError(f"--passes {args.passes}: a spread needs at least 2")
    sc = load_scenario(args.scenario)
    exp = next((e for e in sc.experiments if e.kind == "semantic"), None)
    if exp is None:
        raise ConfigError(f"{args.scenario}: experiments: no 'semantic' experiment names the weights")
    model = load_system(sc, find_weights(exp.weights, sc, args.model))
    model.compile(optimizer="adam")
    model.channel_sampler = training_sampler(sc, sc.semantic)
    _, _, val_x, val_y, _ = slot_datasets(sc)
    data = _validation(val_x, val_y, sc.semantic.batch_size)
    sionna.phy.config.seed = sc.seed
    fixed = FixedValidationDraws(derived_seed(sc.seed, "validation"))
    for name, callbacks in (("fresh draws", []), ("fixed draws", [fixed])):
        psnr = []
        for i in range(args.passes):
            sionna.phy.config.tf_rng.normal([1000 + i])          # training's draws in between
            psnr.append(model.evaluate(data, verbose=0, return_dict=True, callbacks=callbacks)["psnr"])
        print(f"{name}: validation PSNR {np.round(psnr, 3).tolist()} dB, "
              f"std {np.std(psnr):.3f} dB, range {np.ptp(psnr):.3f} dB")


if __name__ == "__main__":
    script_main(main)
