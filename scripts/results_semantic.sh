#!/usr/bin/env bash
# Regenerate the committed seed-003 semantic results from the trained runs in runs/ (after
# scripts/train_semantic.sh) or, for the N_f = 32 evaluation figures, from the committed
# weights in models/.
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg scripts/results_semantic.sh
set -eu
py=${PYTHON:-python}
# Fig. 10: every training run side by side (ZF included), plus the two runs under the earlier
# total-power convention that chose lambda (kept as state/history/batches only)
runs=()
for r in runs/umi_4x4/train_{full,no_pilot,rzf,djscc,zf} runs/umi_4x4_conv_csi10/train_{full,no_pilot} \
         runs/umi_4x4_conv{,_wide,_deep,_snr,_deep_snr,_convdec,_pilotls}/train_full runs/umi_4x4_conv/train_{full,no_pilot}_5ep \
         runs/umi_4x4_conv_deep/train_full_{20ep,bs8} runs/umi_4x4_conv_deep_bs8{,_more}/train_full \
         runs/umi_4x4_conv_deep{5,8}_bs8/train_full \
         runs/umi_4x4_nf128_conv/train_full \
         runs/umi_4x4_nf{64,128}/train_{full,no_pilot,rzf,djscc} \
         runs/umi_4x4_total_power/train_full runs/umi_4x4_total_power/train_full_ce0.01; do
  [ -f "$r/state.json" ] && runs+=("$r")
done
"$py" -m linksim train-report "${runs[@]}" --out results/fig10_training
# ZF against Full, both on fresh 38.901 drops every batch (umi_4x4_online.yaml): the collapse
online=()
for r in runs/umi_4x4_online/train_{full,zf}; do [ -f "$r/state.json" ] && online+=("$r"); done
[ ${#online[@]} -gt 0 ] && "$py" -m linksim train-report "${online[@]}" --out results/fig10_training/zf_online
# the 34-epoch 8-slot run beside the conv model (run folders where trained; the conv model's
# weights left the tree at 650d661: git checkout 650d661 -- models/umi_4x4_conv)
[ -f runs/umi_4x4_conv_deep_bs8/train_full/state.json ] && [ -f models/umi_4x4_conv/full/state.json ] \
  && "$py" -m linksim train-report runs/umi_4x4_conv_deep_bs8/train_full models/umi_4x4_conv/full \
       --out results/fig10_training/deep_bs8
# the grown models beside their sources (run folders where trained, else the committed copy of
# the best one, which has no per-step loss log)
best=runs/umi_4x4_conv_deep8w_bs8/train_full
[ -f "$best/state.json" ] || best=models/umi_4x4_conv_deep8w_bs8/full
sources=()
for r in runs/umi_4x4_conv_deep_bs8/train_full runs/umi_4x4_conv_deep_bs8_more/train_full \
         runs/umi_4x4_conv_deep5_bs8/train_full runs/umi_4x4_conv_deep8_bs8/train_full; do
  [ -f "$r/state.json" ] && sources+=("$r")
done
wide=runs/umi_4x4_conv_deep8wd_bs8/train_full
[ -f "$wide/state.json" ] || wide=models/umi_4x4_conv_deep8wd_bs8/full
"$py" -m linksim train-report "${sources[@]}" "$best" "$wide" --out results/fig10_training/deep8w
# ... and the best one grown with pixel paths (semantic.pixel_path; runs/ only, where trained)
wp32=runs/umi_4x4_conv_deep8wp_bs8/train_full
[ -f "$wp32/state.json" ] && "$py" -m linksim train-report "$best" "$wp32" --out results/fig10_training/deep8wp
# ... and the best one moved to N_f = 128 (a 4-fold repetition code at the start), beside it
nf128=runs/umi_4x4_nf128_conv_deep8w_bs8/train_full
[ -f "$nf128/state.json" ] || nf128=models/umi_4x4_nf128_conv_deep8w_bs8/full
# ... and that one grown with pixel paths (semantic.pixel_path)
wp=runs/umi_4x4_nf128_conv_deep8wp_bs8/train_full
[ -f "$wp/state.json" ] || wp=models/umi_4x4_nf128_conv_deep8wp_bs8/full
# ... and its control: the same 22 epochs without the paths (runs/ only, where trained)
control=()
[ -f runs/umi_4x4_nf128_conv_deep8w_bs8_more/train_full/state.json ] \
  && control=(runs/umi_4x4_nf128_conv_deep8w_bs8_more/train_full)
"$py" -m linksim train-report "$best" "$nf128" "$wp" "${control[@]}" --out results/fig10_training/nf128_deep8w
# Figs. 9, 11, 12 (N_f = 32): same images and realisations as results/fig8_sscc
"$py" -m linksim run scenarios/fig9_semantic.yaml --out results/fig9_psnr --no-progress
"$py" -m linksim report results/fig9_psnr
mkdir -p results/fig11_accuracy results/fig12_visual
cp results/fig9_psnr/fig9_semantic_accuracy.png results/fig11_accuracy/accuracy_nf32.png
cp results/fig9_psnr/fig9_semantic_visual.png results/fig12_visual/visual_nf32_umi_full.png
cp results/fig9_psnr/fig9_semantic_visual.json results/fig12_visual/visual_nf32_umi_full.json
# The convolutional-latent Full (not the paper's encoder), from its weights where restored
# (git checkout 650d661 -- models/umi_4x4_conv)
if [ -f models/umi_4x4_conv/full/state.json ]; then
  "$py" -m linksim run scenarios/fig9_semantic_conv.yaml --out results/fig9_psnr/conv --no-progress
  "$py" -m linksim report results/fig9_psnr/conv
fi
# The best N_f = 32 model (deep UE decoder, 8 slots per step, grown to 5 then 8 blocks, then its
# encoder widened), from its committed weights
"$py" -m linksim run scenarios/fig9_semantic_conv_deep.yaml --out results/fig9_psnr/conv_deep --only deep8w --no-progress
# ... and with its UE decoder widened (committed weights)
"$py" -m linksim run scenarios/fig9_semantic_conv_deep.yaml --out results/fig9_psnr/conv_deep --only deep8wd --no-progress
# ... and grown with pixel paths (weights in runs/, where trained)
[ -f runs/umi_4x4_conv_deep8wp_bs8/train_full/state.json ] \
  && "$py" -m linksim run scenarios/fig9_semantic_conv_deep.yaml --out results/fig9_psnr/conv_deep --only deep8wp --no-progress
"$py" -m linksim report results/fig9_psnr/conv_deep
# What a longer run would need: PSNR vs epochs summed along that model's lineage, extrapolated
"$py" scripts/target_scaling.py results/fig9_psnr/conv_deep \
  --chain batch8 bs8_34ep bs8_more:bs8_34ep deep5:bs8_more deep8:deep5 deep8w:deep8 deep8wd:deep8w deep8wp:deep8w \
  --target 7:27 --target=-7:23
# weights in runs/ (not committed), where trained; <scenario suffix>:<run folder>
for pair in conv_wide:umi_4x4_conv_wide/train_full conv_deep:umi_4x4_conv_deep/train_full_20ep; do
  run=${pair%%:*}
  [ -f "runs/${pair#*:}/state.json" ] || continue
  "$py" -m linksim run "scenarios/fig9_semantic_$run.yaml" --out "results/fig9_psnr/$run" --no-progress
  "$py" -m linksim report "results/fig9_psnr/$run"
done
# N_f = 128, conv latent: trained there (weights in runs/, where trained), and the best N_f = 32
# model moved there (committed weights)
nf128_conv=(--only deep8w --only deep8wp)
[ -f runs/umi_4x4_nf128_conv/train_full/state.json ] && nf128_conv+=(--only semantic)
[ -f runs/umi_4x4_nf128_conv_deep8w_bs8_more/train_full/state.json ] && nf128_conv+=(--only more)
"$py" -m linksim run scenarios/fig9_semantic_nf128_conv.yaml --out results/fig9_psnr/nf128_conv "${nf128_conv[@]}" --no-progress
"$py" -m linksim report results/fig9_psnr/nf128_conv
# Outdated CSI at the BS (csi_error 0.1): Full against w/o Pilot (weights in runs/, where trained)
if [ -f runs/umi_4x4_conv_csi10/train_full/state.json ] && [ -f runs/umi_4x4_conv_csi10/train_no_pilot/state.json ]; then
  "$py" -m linksim run scenarios/fig9_semantic_csi10.yaml --out results/fig9_psnr/csi10 --no-progress
  "$py" -m linksim report results/fig9_psnr/csi10
fi
# N_f = 64 and 128: weights in runs/ (not committed), where all four variants are trained
accuracy_csvs=(results/fig9_psnr/fig9_semantic.csv)
for nf in 64 128; do
  ready=1
  for m in full no_pilot rzf djscc; do [ -f "runs/umi_4x4_nf$nf/train_$m/state.json" ] || ready=0; done
  [ $ready = 1 ] || { echo "N_f = $nf: not every variant trained; skipped"; continue; }
  out=results/fig9_psnr/nf$nf
  "$py" -m linksim run "scenarios/fig9_semantic_nf$nf.yaml" --out "$out" --no-progress
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
# Where the architecture caps the committed N_f = 32 and 128 models: 7 dB up to 40 dB
high=(--only nf32_deep8w --only nf128_deep8w --only nf128_deep8wp)
[ -f runs/umi_4x4_conv_deep8wp_bs8/train_full/state.json ] && high+=(--only nf32_deep8wp)
[ -f runs/umi_4x4_nf128_conv_deep8w_bs8_more/train_full/state.json ] && high+=(--only nf128_more)
"$py" -m linksim run scenarios/fig9_semantic_high_snr.yaml --out results/fig9_psnr/high_snr "${high[@]}" --no-progress
