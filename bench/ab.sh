#!/usr/bin/env bash
# Before/after: the bench harness of two checkouts run alternately on the same files, so a change's
# effect on speed is measured in one sitting (ratios of medians over alternating rounds).
#   bench/ab.sh BEFORE_DIR AFTER_DIR [ROUNDS]
# BEFORE_DIR and AFTER_DIR are checkouts (e.g. `git worktree add /tmp/before REV`); each is built.
# Runs, per round and per checkout: `bench` (Cria beside llama.cpp: prompt 512, gen 128, 3 reps) on
# tinyllama-1.1b Q4_0 and Q4_K_M, and `serve` with 1 and 8 streaming clients (64 tokens each).
# Models are written with `cria synth` into $MODELS (default /tmp/cria-bench-models) when missing.
set -euo pipefail
BEFORE=$(cd "$1" && pwd); AFTER=$(cd "$2" && pwd); ROUNDS=${3:-2}
MODELS=${MODELS:-${TMPDIR:-/tmp}/cria-bench-models}
mkdir -p "$MODELS"
for dir in "$BEFORE" "$AFTER"; do
  dotnet build -c Release -m:1 "$dir/src/Cria.Cli" -v q -nologo >/dev/null
  dotnet build -c Release -m:1 "$dir/bench/Cria.Bench" -v q -nologo >/dev/null
done
for type in q4_0 q4_k_m; do
  file="$MODELS/tinyllama-1.1b-$type.gguf"
  [ -f "$file" ] || dotnet "$AFTER/src/Cria.Cli/bin/Release/net10.0/cria.dll" synth --shape tinyllama-1.1b --type "$type" -o "$file"
done
LOG=$(mktemp)
for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    dir=$BEFORE; [ "$side" = after ] && dir=$AFTER
    harness="$dir/bench/Cria.Bench/bin/Release/net10.0/Cria.Bench.dll"
    for type in q4_0 q4_k_m; do
      echo "== round $round $side bench tinyllama-1.1b $type"
      dotnet "$harness" --model "$MODELS/tinyllama-1.1b-$type.gguf" --threads 2 --prompt 512 --gen 128 --reps 3 \
        | sed "s/^/$side $type /" | tee -a "$LOG" | grep -E '\| (cria|llama.cpp) \||RESULT'
    done
    echo "== round $round $side serve tinyllama-1.1b q4_0"
    dotnet "$harness" serve --model "$MODELS/tinyllama-1.1b-q4_0.gguf" --threads 2 --clients 1,8 --gen 64 --rounds 2 \
      | sed "s/^/$side serve /" | tee -a "$LOG" | grep -E '^\S+ serve \| (1|8) \||RESULT'
  done
done
echo
echo "# medians over rounds (cria's own figures; llama.cpp's beside them as the peer in the same runs)"
python3 - "$LOG" <<'PY'
import re, sys, statistics as st, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'(before|after) (q4_0|q4_k_m) \| (cria|llama\.cpp) \| ([\d.]+) \S+ \| ([\d.]+) ', line)
    if m:
        side, t, eng, p, d = m.groups(); rows[(t, eng, side, 'prompt')].append(float(p)); rows[(t, eng, side, 'decode')].append(float(d))
    m = re.match(r'(before|after) serve \| (1|8) \| ([\d.]+) \| ([\d.]+) \|', line)
    if m:
        side, n, wall, dec = m.groups(); rows[('serve', n + ' clients', side, 'decode')].append(float(dec))
print('| file | engine | measure | before | after | after / before |')
print('|---|---|---|---:|---:|---:|')
for (t, eng, side, what) in sorted({(k[0], k[1], 'x', k[3]) for k in rows}):
    b = rows.get((t, eng, 'before', what)); a = rows.get((t, eng, 'after', what))
    if b and a:
        mb, ma = st.median(b), st.median(a)
        print(f'| tinyllama-1.1b {t} | {eng} | {what} tok/s | {mb:.1f} | {ma:.1f} | {ma / mb:.3f} |')
PY
rm -f "$LOG"
