#!/usr/bin/env bash
# The recipe ablation of issue 13: leave-Bandai-out runs of configs/merged.yaml, each changing one ingredient, all
# judged by the zero-shot protocol on Bandai (its own labels, never seen) plus CMU and HRA held-out clips.
# Runs and reports land in runs/lobo_<name> and reports/lobo_<name>; finished ones are skipped.
# About 10 minutes per variant on 2 CPU cores. Usage: scripts/ablation.sh [name ...] (default: every variant).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
MT=.venv/bin/motion-text
LOBO="data.exclude_sources=[bandai]"

declare -A VARIANTS=(
  [base]=""
  [residual]="model.text_projection=residual model.embed_dim=384"
  [locked]="model.text_projection=locked model.embed_dim=384"
  [sensor]="augment.sensor=0.3"
  [sidenegs]="augment.side_negatives=true"
  [nocaptions]="augment.kinematic_captions=0.0"
)
ORDER=(base locked residual sensor sidenegs nocaptions)

finished() {  # run folder -> true when its last.pt reached the configured epochs
  [ -f "$1/last.pt" ] && .venv/bin/python -c "
import sys, torch, yaml
ckpt = torch.load('$1/last.pt', map_location='cpu', weights_only=False)
sys.exit(0 if ckpt['epoch'] >= yaml.safe_load(open('$1/config.yaml'))['optim']['epochs'] else 1)"
}

# train_and_evaluate NAME [KEY=VALUE ...]: one leave-Bandai-out run and its protocol report.
train_and_evaluate() {
  local name=$1; shift
  local run=runs/lobo_$name sets=(--set "$LOBO")
  for kv in "$@"; do sets+=(--set "$kv"); done
  finished "$run" || $MT train --config configs/merged.yaml "${sets[@]}" --out "$run" --no-progress
  [ -f "reports/lobo_$name/report.json" ] || $MT evaluate --model "$run" --source bandai --source cmu --source hra \
    --limit 600 --out "reports/lobo_$name" > /dev/null
  echo "lobo_$name done"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    train_and_evaluate "$n" ${VARIANTS[$n]}
  done
fi
