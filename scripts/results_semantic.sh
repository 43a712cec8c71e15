#!/usr/bin/env bash
# Regenerate the committed seed-003 semantic results from the trained runs in runs/ (after
# scripts/train_semantic.sh) or, for the evaluation figures, from the committed weights in models/.
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg scripts/results_semantic.sh
set -eu
py=${PYTHON:-python}
# Fig. 10: every training run side by side (ZF's NaN stop included)
"$py" -m linksim train-report runs/umi_4x4/train_full runs/umi_4x4/train_no_pilot \
  runs/umi_4x4/train_rzf runs/umi_4x4/train_djscc runs/umi_4x4/train_zf \
  runs/umi_4x4_nf128/train_full runs/umi_4x4/train_full_ce0.01 --out results/fig10_training
# Figs. 9, 11, 12 (N_f = 32): same images and realisations as results/fig8_sscc
"$py" -m linksim run scenarios/fig9_semantic.yaml --out results/fig9_psnr --no-progress
# N_f = 128: weights in runs/umi_4x4_nf128/train_full (39 MB, not committed; scripts/train_semantic.sh)
"$py" -m linksim run scenarios/umi_4x4_nf128.yaml --only semantic --out results/fig9_psnr/nf128 \
  --no-progress
mkdir -p results/fig11_accuracy results/fig12_visual
"$py" - <<'PY'
import csv
from pathlib import Path
keep = ["model", "channel", "fft_size", "snr_db", "num_images", "accuracy", "epochs_trained",
        "train_wall_s"]
rows = []
for path in (Path("results/fig9_psnr/fig9_semantic.csv"), Path("results/fig9_psnr/nf128/semantic.csv")):
    if path.is_file():
        with path.open(newline="") as f:
            rows += [{k: r[k] for k in keep} for r in csv.DictReader(f)]
with open("results/fig11_accuracy/accuracy.csv", "w", newline="") as f:
    w = csv.DictWriter(f, keep)
    w.writeheader()
    w.writerows(rows)
PY
cp results/fig9_psnr/fig9_semantic_accuracy.png results/fig11_accuracy/accuracy_nf32.png
cp results/fig9_psnr/nf128/semantic_accuracy.png results/fig11_accuracy/accuracy_nf128.png
cp results/fig9_psnr/fig9_semantic_visual.png results/fig12_visual/visual_nf32_umi_full.png
cp results/fig9_psnr/fig9_semantic_visual.json results/fig12_visual/visual_nf32_umi_full.json
cp results/fig9_psnr/nf128/semantic_visual.png results/fig12_visual/visual_nf128_umi_full.png
cp results/fig9_psnr/nf128/semantic_visual.json results/fig12_visual/visual_nf128_umi_full.json
"$py" -m linksim report results/fig9_psnr
"$py" -m linksim report results/fig9_psnr/nf128
# Table III: parameters, MB, median CPU inference time per batch
"$py" -m linksim bench --only complexity --out results/table3_complexity
