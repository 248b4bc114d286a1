#!/usr/bin/env bash
# Runs the bench harness (Cria beside llama.cpp) over a set of synthetic models and prints every
# RESULT line at the end. Models are written with `cria synth` into $MODELS when missing.
#   bench/table.sh [MODELS_DIR] [extra harness options, e.g. --reps 5]
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-${TMPDIR:-/tmp}/cria-bench-models}
shift || true
mkdir -p "$MODELS"
dotnet build -c Release -m:1 src/Cria.Cli -v q -nologo >/dev/null
dotnet build -c Release -m:1 bench/Cria.Bench -v q -nologo >/dev/null
CRIA=src/Cria.Cli/bin/Release/net10.0/cria.dll
HARNESS=bench/Cria.Bench/bin/Release/net10.0/Cria.Bench.dll
SETS=(
  "tinyllama-1.1b q4_0" "tinyllama-1.1b q8_0" "tinyllama-1.1b q4_k_m" "llama3.2-1b q4_k_m"
  "tinyllama-1.1b f16" "small-110m f16" "small-110m bf16" "small-110m f32"
)
LOG=$(mktemp)
for s in "${SETS[@]}"; do
  read -r shape type <<<"$s"
  file="$MODELS/$shape-$type.gguf"
  [ -f "$file" ] || dotnet "$CRIA" synth --shape "$shape" --type "$type" -o "$file"
  echo "== $shape $type"
  dotnet "$HARNESS" --model "$file" --threads 2 --prompt 512 --gen 128 --reps 3 "$@" | tee -a "$LOG" | grep -E '^\| |^\(|^RESULT'
done
echo
grep '^RESULT' "$LOG"
rm -f "$LOG"
