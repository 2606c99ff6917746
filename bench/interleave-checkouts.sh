#!/usr/bin/env bash
# A behaviour-neutral change (a restructuring) must not cost speed: runs bench/unet-forward.js of two checkouts of
# this repository (each with `npx tsc -p bench/tsconfig.json` run and node_modules installed) alternately, ROUNDS
# rounds, each run a fresh process, and prints one line per run and the median per checkout and batch.
#
#   bench/interleave-checkouts.sh OLD_DIR NEW_DIR [ROUNDS] [-- unet-forward flags]
#   bench/interleave-checkouts.sh ../old . 3 -- --backend wasm --threads 2 --native off --batches 1,16 --runs 3
set -euo pipefail
old=$1; new=$2; shift 2
rounds=3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--backend wasm --threads 2 --native off --batches 1,16 --runs 3 --pipeline 10 --pipeline-batches 1)
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); isa: $(grep -o -m1 -w 'avx512f' /proc/cpuinfo || echo 'no avx512f'); flags: ${flags[*]}"
results=$(mktemp)
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    dir=$old; [ "$side" = new ] && dir=$new
    line=$(cd "$dir" && node build/bench/unet-forward.js "${flags[@]}" --json | grep '^UNET_FORWARD_RESULT ' | cut -d' ' -f2-)
    node -e '
      const [side, round, json] = process.argv.slice(1); const r = JSON.parse(json);
      for (const b of r.batches) console.log(`${side}\tround ${round}\tbatch ${b.batch}\t${b.medianMs.toFixed(1)} ms`);
      for (const p of r.pipeline ?? []) console.log(`${side}\tround ${round}\tpipeline ${p.steps} steps batch ${p.batch}\t${(p.seconds * 1000).toFixed(0)} ms`);
      console.log(`${side}\tround ${round}\tload\t${r.loadAverage[0].toFixed(2)}`);' "$side" "$round" "$line" | tee -a "$results"
  done
done
echo "median (min-max) over rounds:"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
  const groups = new Map();
  for (const [side, , what, value] of rows) if (what !== "load") { const k = `${what}\t${side}`; (groups.get(k) ?? groups.set(k, []).get(k)).push(parseFloat(value)); }
  for (const [k, v] of [...groups].sort()) { v.sort((a, b) => a - b); console.log(`${k}\t${v[Math.floor(v.length / 2)].toFixed(1)} (${v[0].toFixed(1)}-${v[v.length - 1].toFixed(1)}) ms`); }' "$results"
rm -f "$results"
