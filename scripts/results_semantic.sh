#!/usr/bin/env bash
# Regenerate the committed seed-003 semantic results from the trained runs in runs/ (after
# scripts/train_semantic.sh) or, for the evaluation figures, from the committed weights in models/.
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg scripts/results_semantic.sh
set -eu
py=${PYTHON:-python}
# Fig. 10: every training run side by side (ZF included), plus the two runs under the earlier
# total-power convention that chose lambda (kept as state/history/batches only)
runs=()
for r in runs/umi_4x4/train_{full,no_pilot,rzf,djscc,zf} runs/umi_4x4_nf{64,128}/train_{full,no_pilot,rzf,djscc} \
         runs/umi_4x4_total_power/train_full runs/umi_4x4_total_power/train_full_ce0.01; do
  [ -f "$r/state.json" ] && runs+=("$r")
done
"$py" -m linksim train-report "${runs[@]}" --out results/fig10_training
# Figs. 9, 11, 12 (N_f = 32): same images and realisations as results/fig8_sscc
"$py" -m linksim run scenarios/fig9_semantic.yaml --out results/fig9_psnr --no-progress
# N_f = 128: weights in runs/umi_4x4_nf128/ (not committed; scripts/train_semantic.sh)
if [ -f runs/umi_4x4_nf128/train_full/state.json ]; then
  "$py" -m linksim run scenarios/umi_4x4_nf128.yaml --only semantic --out results/fig9_psnr/nf128 \
    --no-progress
fi
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
[ -d results/fig9_psnr/nf128 ] && cp results/fig9_psnr/nf128/semantic_accuracy.png results/fig11_accuracy/accuracy_nf128.png
cp results/fig9_psnr/fig9_semantic_visual.png results/fig12_visual/visual_nf32_umi_full.png
cp results/fig9_psnr/fig9_semantic_visual.json results/fig12_visual/visual_nf32_umi_full.json
if [ -d results/fig9_psnr/nf128 ]; then
  cp results/fig9_psnr/nf128/semantic_visual.png results/fig12_visual/visual_nf128_umi_full.png
  cp results/fig9_psnr/nf128/semantic_visual.json results/fig12_visual/visual_nf128_umi_full.json
fi
"$py" -m linksim report results/fig9_psnr
[ -d results/fig9_psnr/nf128 ] && "$py" -m linksim report results/fig9_psnr/nf128
# Table III: parameters, MB, median CPU inference time per batch
"$py" -m linksim bench --only complexity --out results/table3_complexity
