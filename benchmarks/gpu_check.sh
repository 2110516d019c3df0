#!/usr/bin/env bash
# The CUDA run: one script, run once on a machine with a GPU (issue 5).
# Needs the grader's dependencies there; FashionMNIST from $FCNN_DATA_ROOT
# (a folder with the four .gz files will do). Writes its logs to $OUT.
set -uo pipefail
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 FCNN_CACHE_DIR=/tmp/fcnn-cache
python=${PYTHON:-python3}
say() { echo "== $*" | tee -a "$out/summary.txt"; }
TIMEFORMAT="%R s"

# Offline: build with the setuptools already there; failing that, load the plugin by name.
if ! $python -m pip install -q --no-deps --no-build-isolation -e . >>"$out/details.log" 2>&1; then
    say "pip install failed: using PYTHONPATH and PYTEST_PLUGINS instead"
    export PYTHONPATH="$PWD" PYTEST_PLUGINS=fcnn_grader.plugin
fi
say "$(nvidia-smi -L 2>/dev/null | head -1)"
say "$($python -c 'import torch, torchvision, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "")')"

say "$($python -c 'import torch, torch.nn.functional as F
from fcnn_grader import oracle
net = oracle.network(oracle.initial_weights(), "cuda")
F.cross_entropy(net(torch.rand(100, 1, 28, 28, device="cuda")), torch.zeros(100, dtype=torch.long, device="cuda")).backward()
print("host memory of a process with torch and a CUDA context:", [l.split()[1:] for l in open("/proc/self/status") if l.startswith(("VmRSS", "VmHWM"))])')"

for device in cuda cpu; do
    for run in 1 2; do
        seconds=$( { time $python -m pytest --exercise=all --impl=reference --device=$device -p no:cacheprovider -q \
            --grade-json="$out/reference-$device.json" >"$out/run.log" 2>&1; } 2>&1 )
        cat "$out/run.log" >>"$out/details.log"
        say "suite --device=$device, run $run: $seconds, $(tail -1 "$out/run.log")"
    done
done
seconds=$( { time $python -m pytest --exercise=all --impl=reference --device=cuda --isolate -p no:cacheprovider -q \
    >"$out/run.log" 2>&1; } 2>&1 )
cat "$out/run.log" >>"$out/details.log"
say "suite --device=cuda --isolate: $seconds, $(tail -1 "$out/run.log")"

say "the project's tests that exercise the device (device auto = cuda here)"
$python -m pytest tests/test_cuda.py tests/test_submissions.py tests/test_thresholds.py -q -p no:cacheprovider -n 8 \
    >"$out/run.log" 2>&1
cat "$out/run.log" >>"$out/details.log"
say "$(tail -1 "$out/run.log")"

$python benchmarks/bench.py --repeat 1 --device cuda --json "$out/bench-cuda.json" >"$out/run.log" 2>&1
cat "$out/run.log" >>"$out/details.log"
say "benchmark, --device cuda:"
tail -8 "$out/run.log" | tee -a "$out/summary.txt"
rm -f "$out/run.log"
