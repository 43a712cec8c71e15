#!/usr/bin/env bash
# Regenerate the committed seed-003 semantic results (Figs. 9-12, Table III) from the committed
# weights in models/ and, where they have been trained (scenarios/training/, runs/ is not
# committed), from the N_f = 64 / 128 runs of the paper's variants:
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg scripts/results_semantic.sh
set -eu
py=${PYTHON:-python}
S=scenarios/seed003
# Fig. 10: the paper's variants side by side (run folders where trained, else the committed copies)
runs=()
for m in full no_pilot rzf djscc; do
  if [ -f runs/umi_4x4/train_$m/state.json ]; then runs+=(runs/umi_4x4/train_$m); else runs+=(models/umi_4x4/$m); fi
done
for r in runs/umi_4x4/train_zf runs/umi_4x4_nf{64,128}/train_{full,no_pilot,rzf,djscc}; do
  [ -f "$r/state.json" ] && runs+=("$r")
done
"$py" -m linksim train-report "${runs[@]}" --out results/fig10_training
# ZF against Full on fresh 38.901 drops every batch (scenarios/training/umi_4x4_online.yaml): the collapse
online=()
for r in runs/umi_4x4_online/train_{full,zf}; do [ -f "$r/state.json" ] && online+=("$r"); done
[ ${#online[@]} -gt 0 ] && "$py" -m linksim train-report "${online[@]}" --out results/fig10_training/zf_online
# the committed best models (committed copies: history only, no per-step loss log)
"$py" -m linksim train-report models/umi_4x4_conv_deep8w_bs8/full models/umi_4x4_conv_deep8wd_bs8/full \
  --out results/fig10_training/deep8w
"$py" -m linksim train-report models/umi_4x4_conv_deep8w_bs8/full models/umi_4x4_nf128_conv_deep8w_bs8/full \
  models/umi_4x4_nf128_conv_deep8wp_bs8/full --out results/fig10_training/nf128_deep8w
# Figs. 9, 11, 12 (N_f = 32): same images and realisations as results/fig8_sscc
"$py" -m linksim run $S/fig9_psnr.yaml --out results/fig9_psnr --no-progress
"$py" -m linksim report results/fig9_psnr
mkdir -p results/fig11_accuracy results/fig12_visual
cp results/fig9_psnr/fig9_semantic_accuracy.png results/fig11_accuracy/accuracy_nf32.png
cp results/fig9_psnr/fig9_semantic_visual.png results/fig12_visual/visual_nf32_umi_full.png
cp results/fig9_psnr/fig9_semantic_visual.json results/fig12_visual/visual_nf32_umi_full.json
# The best committed N_f = 32 and N_f = 128 models (not the paper's architecture)
"$py" -m linksim run $S/fig9_psnr_nf32_best.yaml --out results/fig9_psnr/conv_deep --no-progress
"$py" -m linksim report results/fig9_psnr/conv_deep
"$py" -m linksim run $S/fig9_psnr_nf128_best.yaml --out results/fig9_psnr/nf128_conv --no-progress
"$py" -m linksim report results/fig9_psnr/nf128_conv
# Where the architecture caps them: 7 dB up to 40 dB
"$py" -m linksim run $S/fig9_high_snr.yaml --out results/fig9_psnr/high_snr --no-progress
# N_f = 64 and 128, the paper's variants: weights in runs/ (scenarios/training/umi_4x4_nf*.yaml), where all four are trained
accuracy_csvs=(results/fig9_psnr/fig9_semantic.csv)
for nf in 64 128; do
  ready=1
  for m in full no_pilot rzf djscc; do [ -f "runs/umi_4x4_nf$nf/train_$m/state.json" ] || ready=0; done
  [ $ready = 1 ] || { echo "N_f = $nf: not every variant trained; skipped"; continue; }
  out=results/fig9_psnr/nf$nf
  "$py" -m linksim run "scenarios/training/fig9_psnr_nf$nf.yaml" --out "$out" --no-progress
  "$py" -m linksim report "$out"
  cp "$out/semantic_accuracy.png" "results/fig11_accuracy/accuracy_nf$nf.png"
  cp "$out/semantic_visual.png" "results/fig12_visual/visual_nf${nf}_umi_full.png"
  cp "$out/semantic_visual.json" "results/fig12_visual/visual_nf${nf}_umi_full.json"
  accuracy_csvs+=("$out/semantic.csv")
done
"$py" - "${accuracy_csvs[@]}" <<'PY'
import csv
import sys
keep = ["model", "channel", "fft_size", "snr_db", "num_images", "accuracy", "epochs_trained",
        "train_wall_s"]
rows = []
for path in sys.argv[1:]:
    with open(path, newline="") as f:
        rows += [{k: r[k] for k in keep} for r in csv.DictReader(f)]
with open("results/fig11_accuracy/accuracy.csv", "w", newline="") as f:
    w = csv.DictWriter(f, keep)
    w.writeheader()
    w.writerows(rows)
PY
# Table III: parameters, MB, median CPU inference time per batch
"$py" -m linksim bench --only complexity --out results/table3_complexity
