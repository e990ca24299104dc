#!/usr/bin/env bash
# Reproduce models/ and models/MODEL_CARD.md from a fresh clone (issue 13):
#   1. the merged corpus cache (every source of shared/data);
#   2. the recipe ablation, leave-Bandai-out (scripts/ablation.sh), and the shipped recipe left out over SEEDS;
#   3. the shipped model on every source (configs/merged.yaml), the same recipe without non-commercial data, and the
#      supervised ST-GCN baseline on the same data;
#   4. evaluation with every protocol, ONNX export, the motion library from all sources, the card.
# Finished runs and reports are kept (delete runs/ and reports/ to start over). About 4 hours on 2 CPU cores; on a
# GPU machine the same commands use CUDA. COMMERCIAL=1 ships the model trained without non-commercial data instead.
# ABLATION="recipe base locked" runs (and puts on the card) only those variants of scripts/ablation.sh (default:
# all of them, in its ORDER). EXPERIMENTS: Markdown files appended to the card (default: the dated record of the
# first full ablation, benchmarks/recipe_ablation_2026-12-02.md; EXPERIMENTS="" for none).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
MT=.venv/bin/motion-text
SEEDS="${SEEDS:-0 1 2}"
PROTOCOLS=(--source bandai --source cmu --source hra --limit 600)
NC_FREE="data.exclude_licences=[CC-BY-NC-4.0]"

[ -f .cache/datasets/all/index.json ] || $MT data build --source all --out .cache/datasets/all

# shellcheck source=scripts/ablation.sh
source scripts/ablation.sh
read -r -a VARIANT_NAMES <<< "${ABLATION:-${ORDER[*]}}"
for n in "${VARIANT_NAMES[@]}"; do
  [ -n "${LABELS[$n]:-}" ] || { echo "ABLATION: unknown variant '$n' (known: ${ORDER[*]})" >&2; exit 2; }
  # shellcheck disable=SC2086
  train_and_evaluate "$n" ${VARIANTS[$n]}
done
seeds=()
for s in $SEEDS; do
  if [ "$s" = 0 ]; then seeds+=(--model runs/lobo_recipe); continue; fi
  finished "runs/lobo_recipe_seed$s" || $MT train --config configs/merged.yaml --set "$LOBO" --set seed="$s" \
    --out "runs/lobo_recipe_seed$s" --no-progress
  seeds+=(--model "runs/lobo_recipe_seed$s")
done
[ -f reports/lobo_recipe_seeds/report.json ] || $MT evaluate "${seeds[@]}" "${PROTOCOLS[@]}" \
  --out reports/lobo_recipe_seeds > /dev/null

finished runs/merged || $MT train --config configs/merged.yaml --out runs/merged --no-progress
finished runs/merged_commercial || $MT train --config configs/merged.yaml --set "$NC_FREE" \
  --out runs/merged_commercial --no-progress
# The baseline sees the same 3 s spans as the recipe's windows (45 frames at 15 fps; the GCN runs at 30 fps).
finished runs/gcn_merged || $MT train --config configs/gcn_baseline.yaml --set data.cache=.cache/datasets/all \
  --set data.source=all --set normalization.window_frames=90 --out runs/gcn_merged --no-progress
[ -f reports/merged/report.json ] || $MT evaluate --model runs/merged --baseline runs/gcn_merged "${PROTOCOLS[@]}" \
  --robustness --out reports/merged > /dev/null
[ -f reports/merged_commercial/report.json ] || $MT evaluate --model runs/merged_commercial "${PROTOCOLS[@]}" \
  --out reports/merged_commercial > /dev/null

ship=merged other=merged_commercial other_name="without non-commercial data (Bandai left out)"
if [ "${COMMERCIAL:-0}" = 1 ]; then ship=merged_commercial other=merged other_name="with Bandai (non-commercial)"; fi
$MT export --checkpoint "runs/$ship" --out models
$MT library build --data .cache/datasets/all --model models --motion-seconds 4
ablation=()
for n in "${VARIANT_NAMES[@]}"; do ablation+=("${LABELS[$n]}=reports/lobo_$n"); done
EXPERIMENTS="${EXPERIMENTS-benchmarks/recipe_ablation_2026-12-02.md}" .venv/bin/python - "$ship" "$other" \
  "$other_name" "${ablation[@]}" <<'EOF'
import os
import sys
from motion_text_node.train.model_card import write_model_card

ship, other, other_name, *ablation = sys.argv[1:]
print(write_model_card("models", f"runs/{ship}", f"reports/{ship}",
                       lobo={"source": "bandai", "seeds": "reports/lobo_recipe_seeds",
                             "ablation": dict(a.split("=", 1) for a in ablation)},
                       compare={other_name: f"reports/{other}"},
                       experiments=os.environ["EXPERIMENTS"].split()))
EOF
