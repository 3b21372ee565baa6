#!/usr/bin/env bash
# One GPU, under 8 minutes: the CUDA tests (pytest -m gpu), then training throughput of every
# family in fp32 and bf16 (bench/throughput.py; about 15 s of training per family and precision).
#
#   bash bench/gpu.sh            # uses .venv/bin/python if present, else python3; PYTHON=... to choose
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "bench/gpu.sh: no CUDA device visible to torch")'
"$PY" -c 'import torch; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'
"$PY" -m pytest -q -p no:cacheprovider -m gpu tests/
"$PY" bench/throughput.py --device cuda --precision fp32 bf16 --seconds "${SECONDS_PER_RUN:-15}"
