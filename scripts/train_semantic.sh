#!/usr/bin/env bash
# Train the seed-003 semantic variants one after another (2 CPU cores: one run at a time is
# as fast as two in parallel) with equal time budgets; every run resumes if its directory
# already holds a checkpoint, so re-running this script after an interruption continues.
#   LINKSIM_DATA=../shared/datasets/cifar10-jpeg nohup scripts/train_semantic.sh 22 > train.log 2>&1 &
set -u
minutes=${1:-22}
py=${PYTHON:-python}
run() {  # scenario model minutes
  local name; name=$(basename "$1" .yaml)
  "$py" -m linksim train "$1" --model "$2" --time-budget "$3" --no-progress \
    --out "runs/$name/train_$2"
}
run scenarios/umi_4x4.yaml full "$minutes"
run scenarios/umi_4x4.yaml no_pilot "$minutes"
run scenarios/umi_4x4.yaml rzf "$minutes"
run scenarios/umi_4x4.yaml djscc "$minutes"
run scenarios/umi_4x4.yaml zf 6
run scenarios/umi_4x4_nf128.yaml full "$minutes"
