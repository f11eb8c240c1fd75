#!/bin/bash
# Device check of the Triton selective scan (see benchmarks/gpu_check.py); results in $OUT.
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c 'import torch, triton, numpy; print(torch.__version__, triton.__version__, numpy.__version__, torch.cuda.is_available())'; } 2>&1 | tee "$OUT/env.txt"
timeout 330 python3 benchmarks/gpu_check.py 2>&1 | tee "$OUT/gpu_check.log"
