#!/bin/bash
# Character-level Shakespeare for the four B'MOJO variants on one CUDA GPU (see
# benchmarks/bench_lm.py): four processes share the GPU, each times its training rate, they
# exchange the rates through a temporary folder and all train min(steps/s) x BUDGET steps (equal
# steps, equal parameters), then evaluate held-out bits/char at L, 4L, 8L and throughput.
# Results: $OUT/lm_*.json, log $OUT/lm_all.log. DATA: shakespeare.txt (the device machine
# does not see /work/shared: copy it into an ignored folder and carry it).
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} OPENBLAS_NUM_THREADS=1
OUT=${OUT:-.}
BUDGET=${BUDGET:-100}
DEV=${DEV:-cuda}
DATA=${DATA:-runs/shakespeare/shakespeare.txt}
SYNC=$(mktemp -d)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c 'import torch, numpy; print(torch.__version__, numpy.__version__, torch.cuda.is_available())'
COMMON="--device $DEV --time-budget $BUDGET --steps 100000 --data $DATA --sync-dir $SYNC
 --peers bmojo,bmojo-f,swa,mamba --seq-len 128 --batch 64 --d-model 96 --lr 3e-3
 --eval-batches 16 --throughput-steps 10 ${EXTRA:-}"
for v in bmojo bmojo-f swa mamba; do
  timeout $((BUDGET * 6 / 5 + 60)) python3 benchmarks/bench_lm.py $COMMON --variants $v \
    --out "$OUT/lm_$v.json" >>"$OUT/lm_all.log" 2>&1 &
done
wait
cat "$OUT/lm_all.log" | grep -v "{'step'" | grep -v "^| \|^|---" | tail -30
python3 - "$OUT" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/lm_*.json")):
    for r in json.load(open(f))["rows"]:
        print(f"| {r['variant']} | {r['params']} | {r['memory_floats']} | {r['steps']} | {r['bpc_1L']:.3f} | {r['bpc_4L']:.3f} | {r['bpc_8L']:.3f} | {r['train_tok_s']:.0f} | {r['train_tok_s_run']:.0f} | {r['gen_tok_s_b1']:.0f} | {r['gen_tok_s_b8']:.0f} | {r['train_seconds']:.0f} |")
PY
