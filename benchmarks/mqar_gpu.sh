#!/bin/bash
# MQAR for the four B'MOJO variants on one CUDA GPU (see benchmarks/bench_mqar.py); the five
# runs (B'MOJO with its default selection rule and with top-k, B'MOJO-F, SWA, Mamba-like) share the GPU in parallel
# processes, each with a training-time budget of BUDGET seconds. Results: $OUT/mqar_*.json.
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} OPENBLAS_NUM_THREADS=1
OUT=${OUT:-.}
BUDGET=${BUDGET:-250}
DEV=${DEV:-cuda}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c 'import torch, triton, numpy; print(torch.__version__, triton.__version__, numpy.__version__, torch.cuda.is_available())'; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
COMMON="--device $DEV --time-budget $BUDGET --steps 20000 --vocab 128 --seq-len 256 --pairs 8 --min-gap 80
 --d-model 64 --layers 2 --window 16 --n-eidetic 32 --d-state 16 --chunk 16 --batch 64 --lr 3e-3
 --warmup 100 --eval-batches 16 ${EXTRA:-}"
run() { # name, extra args
  local tag=$1; shift
  timeout $((BUDGET * 6 / 5 + 70)) python3 benchmarks/bench_mqar.py $COMMON "$@" --out "$OUT/mqar_$tag.json" >>"$OUT/all.log" 2>&1 &
}
run bmojo --variants bmojo
run bmojo-topk --variants bmojo --selection topk --select-k 8 --eviction score --tag=-topk
run bmojo-f --variants bmojo-f
run swa --variants swa
run mamba --variants mamba
wait
grep -v "{'step'\|{\"step\"" "$OUT/all.log" | grep -v "^| \|^|---" | tail -40
python3 - "$OUT" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/mqar_*.json")):
    for r in json.load(open(f))["rows"]:
        print(f"| {r['variant']} | {r['params']} | {r['memory_floats']} | {r['window']} | {r['d_state']} | {r['n_eidetic']} | {r['steps']} | {r['val_acc']:.3f} | {r['val_ce']:.3f} | {r['train_loss']:.3f} | {r['train_seconds']:.0f} |")
PY
