#!/usr/bin/env bash
# Train the seed-003 semantic variants one after another (2 CPU cores: one run at a time is
# as fast as two in parallel) for the same number of epochs, so Fig. 9's ordering compares
# equal training, not equal wall time. Every run resumes if its directory already holds a
# checkpoint (and refuses if that checkpoint was trained under other settings), so re-running
# this script after an interruption continues where it stopped.
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg nohup scripts/train_semantic.sh 10 > train.log 2>&1 &
set -u
epochs=${1:-10}
py=${PYTHON:-python}
run() {  # scenario model extra-args...
  local name; name=$(basename "$1" .yaml)
  "$py" -m linksim train "$1" --model "$2" --no-progress --out "runs/$name/train_$2" "${@:3}"
}
run scenarios/umi_4x4.yaml full --epochs "$epochs"
run scenarios/umi_4x4.yaml no_pilot --epochs "$epochs"
run scenarios/umi_4x4.yaml rzf --epochs "$epochs"
run scenarios/umi_4x4.yaml djscc --epochs "$epochs"
run scenarios/umi_4x4.yaml zf --epochs "$epochs" --time-budget 5   # Fig. 10: does ZF collapse?
for nf in nf128 nf64; do   # the other grid widths of Figs. 9 and 11 (hours each on 2 cores)
  for model in full no_pilot rzf djscc; do run "scenarios/umi_4x4_$nf.yaml" "$model" --epochs "$epochs"; done
done
