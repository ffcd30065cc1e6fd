#!/usr/bin/env bash
# The GPU checks in one go, for a machine with CUDA: the CUDA tests, the training-step variants and
# the main benchmark (without the notebooks). Reports go to the folder given (default artifacts/).
#   bash benchmarks/gpu.sh [OUTPUT_DIR] [PYTHON]
set -uo pipefail
out="${1:-artifacts}"
python="${2:-.venv/bin/python}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
"$python" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    | tee -a "$out/gpu.txt"
# -o addopts= drops the notebook (nbval) options, which need packages a bare GPU image may lack.
"$python" -m pytest -o addopts= -p no:cacheprovider -q -ra tests/test_cuda.py \
    2>&1 | tee "$out/test_cuda.txt" || status=1
"$python" benchmarks/step_variants.py --device cuda --steps 400 --rounds 3 --output-dir "$out" \
    2>&1 | tee "$out/step_variants.log" || status=1
"$python" benchmarks/run.py --device cuda --skip-pipeline --output-dir "$out" \
    2>&1 | tee "$out/benchmark.log" || status=1
exit $status
