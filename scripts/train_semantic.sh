#!/usr/bin/env bash
# Train the seed-003 semantic variants one after another (2 CPU cores: one run at a time is
# as fast as two in parallel) for the same number of epochs, so Fig. 9's ordering compares
# equal training, not equal wall time. Every run resumes if its directory already holds a
# checkpoint (and refuses if that checkpoint was trained under other settings), so re-running
# this script after an interruption -- or with more epochs -- continues where it stopped.
#   scripts/train_semantic.sh EPOCHS [SCENARIO.yaml ...]
# Default scenarios: training/umi_4x4 (N_f = 32, plus the 5-minute ZF run of Fig. 10),
# training/umi_4x4_nf128, training/umi_4x4_nf64. What the committed results used
# (results/fig10_training/README.md; 10 epochs each):
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg nohup scripts/train_semantic.sh 10 \
#       scenarios/training/umi_4x4.yaml scenarios/training/umi_4x4_nf128.yaml \
#       scenarios/training/umi_4x4_nf64.yaml > train.log 2>&1 &
set -u
epochs=${1:-10}
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(scenarios/training/umi_4x4.yaml scenarios/training/umi_4x4_nf128.yaml
                                         scenarios/training/umi_4x4_nf64.yaml)
py=${PYTHON:-python}
run() {  # scenario model extra-args...
  local name; name=$(basename "$1" .yaml)
  "$py" -m linksim train "$1" --model "$2" --no-progress --out "runs/$name/train_$2" "${@:3}"
}
for scenario in "${scenarios[@]}"; do
  for model in full no_pilot rzf djscc; do run "$scenario" "$model" --epochs "$epochs"; done
  if [ "$(basename "$scenario")" = umi_4x4.yaml ] && [ ! -f runs/umi_4x4/train_zf/state.json ]; then
    run "$scenario" zf --epochs "$epochs" --time-budget 5   # Fig. 10: does ZF collapse?
  fi
done
