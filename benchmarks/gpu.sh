#!/usr/bin/env bash
# The GPU checks in one go, for a machine with CUDA: the CUDA tests, the main benchmark (without
# the notebooks), the training-step variants, and last the CPU step variants with torch.compile on
# two of this machine's cores. Reports go to the folder given (default artifacts/): at most eight
# files, every log in gpu.log.
#   bash benchmarks/gpu.sh [OUTPUT_DIR] [PYTHON]
set -uo pipefail
out="${1:-artifacts}"
python="${2:-.venv/bin/python}"
mkdir -p "$out"
log="$out/gpu.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
stage() {  # stage SECONDS COMMAND...: run with a time limit, log it, remember a failure
    local limit=$1
    shift
    echo "=== $* (limit ${limit} s)" | tee -a "$log"
    timeout "$limit" "$@" 2>&1 | tee -a "$log" || status=1
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$log"
"$python" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    2>&1 | tee -a "$log"
# -o addopts= drops the notebook (nbval) options, which need packages a bare GPU image may lack.
stage 80 "$python" -m pytest -o addopts= -p no:cacheprovider -q -ra \
    tests/test_cuda.py tests/test_cuda_graphs.py
stage 190 "$python" -m benchmarks.run --device cuda --skip-pipeline --no-compare-precision \
    --repeats 2 --output-dir "$out"
stage 60 "$python" -m benchmarks.step_variants --device cuda --steps 400 --rounds 3 \
    --output-dir "$out"
# Two cores, as on the small CPU machines the README's CPU figures come from.
if command -v taskset >/dev/null; then
    stage 120 env OMP_NUM_THREADS=2 taskset -c 0,1 "$python" -m benchmarks.step_variants \
        --device cpu --compile --steps 60 --rounds 3 --output-dir "$out"
fi
exit $status
