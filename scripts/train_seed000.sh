#!/usr/bin/env bash
# Train seed 000's three compared variants one after another with the same budget (Table II:
# jscbf, model_driven = model-driven beamforming only, djscc = deep JSCC over RZF), then export
# their weights (float16 kernels) to models/seed000_jscbf/<model>. Each run resumes from its
# checkpoint when re-run (the same command continues an interrupted run; --epochs N raises the
# joint stage's total), so this script is safe to restart.
#   LINKSIM_DATA=/path/to/cifar10 nohup scripts/train_seed000.sh [EPOCHS] > train000.log 2>&1 &
set -eu
scenario=scenarios/training/seed000_jscbf.yaml
py=${PYTHON:-python}
extra=()
[ $# -ge 1 ] && extra=(--epochs "$1")
for model in jscbf djscc model_driven; do
  "$py" -m linksim train "$scenario" --model "$model" --no-progress \
      --out "runs/seed000_jscbf/train_$model" "${extra[@]}"
done
"$py" scripts/export_weights.py --half runs/seed000_jscbf/train_jscbf/joint \
    runs/seed000_jscbf/train_djscc/joint runs/seed000_jscbf/train_model_driven/joint --to models/seed000_jscbf
