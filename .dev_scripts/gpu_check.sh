#!/usr/bin/env bash
# The maintainers' GPU check: one run on a machine with one NVIDIA GPU and
# no internet (Python 3.12, a CUDA torch, onnx and onnxruntime installed),
# in at most 8 minutes:
#
#   bash .dev_scripts/gpu_check.sh            (from anywhere)
#   bash .dev_scripts/gpu_check.sh --dry-run  (print the plan and what is
#                                              missing)
# and, beforehand, on a CPU machine with a Python 3.12 venv of
# .dev_scripts/gpu_image.txt (the GPU machine's packages; PYTHON=its
# python):
#   --download-wheels  fetch the wheels below into .whl/
#   --build-mmcv       build the mmcv wheel below into .whl/
#   --rehearse         every step on the CPU (the wheels installed offline,
#                      the imports, the `cuda` tests collected and skipped,
#                      a small CPU benchmark of the same variants)
#
# 1. nvidia-smi and torch must see the GPU;
# 2. the carried wheels are installed, offline, into a folder on
#    PYTHONPATH ($SITE, kept: a second run on the same machine reuses it),
#    unless the python in use already imports mmseg and mmcv's ops;
# 3. the `cuda` tests: pytest -m cuda tests/test_cuda (AMP training and
#    --resume, fp16 / bf16 against fp32, official against sfseg with TF32
#    off, ONNX export parity, the CUDA benchmark at a small size);
# 4. the CUDA benchmark of SFNet-Lite-R18, SFNet-R18 and SFNet-STDC1 at
#    1x3x1024x2048 (fp32 with TF32 off, fp16, bf16, ONNX Runtime CUDA),
#    against the official code when a clone is carried;
# 5. compiled inference of SFNet-Lite-R18 at 1x3x1024x2048: torch.compile
#    fp32, under fp16 autocast and with CUDA graphs ('reduce-overhead'),
#    beside the fast path and fp16 (first-call times in benchmark.json);
# 6. compiled AMP training: the toy config (data generated), eager
#    against compile=True, iteration times and graph breaks.
# Everything goes to one folder: $OUT if set, else work_dirs/gpu_check:
# gpu_check.log (this script, the machine, nvidia-smi, the summary),
# pytest_cuda.log, benchmark.log, benchmark.json, benchmark.md,
# speed_accuracy.png, compiled/ (step 5's benchmark), train_compiled.log.
# Each step runs under `timeout`; the whole stops within TOTAL_S (default
# 560 s) plus the 10 s a step is given to die: under 10 minutes.
# Exit status: 0 when the tests and the benchmark passed, 1 otherwise,
# 3 without a GPU, 4 without the packages.
#
# Brought along (folders of the repo that .gitignore leaves out, copied
# to the GPU machine with the checkout; allow the run 500 s):
#   .whl/  cp312 manylinux x86-64 wheels of what the image lacks, fetched
#          on a machine with internet by `--download-wheels` (pip download
#          --no-deps --only-binary=:all: --python-version 3.12; 9.3 MB
#          without mmcv): mmengine, mmsegmentation, mmdet and their small
#          pure-Python or manylinux needs (WHEELS below); plus mmcv:
#   .whl/mmcv-2.1.0-cp312-cp312-linux_x86_64.whl: mmcv is never compiled
#          here (its CUDA ops take longer than the whole check). mmseg
#          imports mmcv.ops, so it needs compiled ops; SFNet calls none of
#          them (K-Net's focal loss does, on CUDA). Build the wheel once,
#          against the image's torch version (the C++ ABI must match;
#          2.11.0 + CUDA 13.0, numpy 2.5 when last seen):
#            - with CPU ops only (enough for every check here):
#              `--build-mmcv` (10 min on 2 cores; debug info stripped:
#              1.4 MB), on any x86-64 Linux in a Python 3.12 venv of
#              .dev_scripts/gpu_image.txt (the image's torch and
#              neighbours, from PyPI), e.g. `python3.12 -m venv /tmp/twin
#              && /tmp/twin/bin/pip install -r .dev_scripts/gpu_image.txt`,
#              then `PYTHON=/tmp/twin/bin/python bash $0 --build-mmcv`;
#            - with CUDA ops, on a CUDA machine with nvcc and time to spare:
#              `bash scripts/install_env.sh --plan` prints the build
#              environment (FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST; name only
#              the GPU's own, e.g. 9.0, to keep the wheel small), then
#              `env <that> pip wheel --no-deps --no-build-isolation
#              mmcv==2.1.0 -w .whl`.
#          Keep the wheels, the repo and the clone below small (64 MiB
#          in all is a comfortable size to copy).
#   .carry/SFSegNets/ (optional; or SFSEGNETS_ROOT): a lxtGH/SFSegNets
#          clone, code only. Without it the official tests are skipped and
#          the benchmark has no official rows.
#   onnxruntime-gpu is larger than a call may carry: with the image's CPU
#   onnxruntime the benchmark's `onnx` row is skipped with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

MODE=run
case "${1:-}" in
    '') ;;
    --dry-run) MODE=dry ;;
    --download-wheels) MODE=download ;;
    --build-mmcv) MODE=build ;;
    --rehearse) MODE=rehearse ;;
    *) echo "usage: $0 [--dry-run | --download-wheels | --build-mmcv |" \
        "--rehearse]" >&2; exit 2 ;;
esac

DEFAULT_OUT=$REPO/work_dirs/gpu_check
[ $MODE = rehearse ] && DEFAULT_OUT+=_rehearsal
OUT=${OUT:-$DEFAULT_OUT}
TOTAL_S=${TOTAL_S:-560}    # the whole run, + 10 s to kill a step: 570
SETUP_S=${SETUP_S:-60}     # installing the wheels
TESTS_S=${TESTS_S:-240}    # pytest -m cuda
BENCH_S=${BENCH_S:-130}    # the benchmark; the compiled steps: the rest
COMPILED_S=${COMPILED_S:-90}  # compiled inference (three compilations)
WHEEL_DIR=${WHEEL_DIR:-$REPO/.whl}
PY=${PYTHON:-python3}
# one folder per Python version: the wheels hold compiled code
SITE=${SITE:-/tmp/sfseg-gpu-site-$("$PY" -c 'import sys
print("%d.%d" % sys.version_info[:2])' 2>/dev/null)}
OFFICIAL=${SFSEGNETS_ROOT:-$REPO/.carry/SFSegNets}
CONFIGS=(
    configs/sfnet_lite/sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py
    configs/sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py
    configs/sfnet/sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py
)
VARIANTS=(eager fold fp16 bf16 onnx)
COMPILED=(fast fp16 compile compile-fp16 compile-cudagraphs)
TOY=configs/toy/sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py
# what sfseg needs beyond the image (requirements/runtime.txt, pinned as
# the CPU venv has them); mmcv comes as a wheel built ahead (above)
WHEELS=(
    mmengine==0.10.7 mmsegmentation==1.2.2 mmdet==3.3.0 addict==2.4.0
    yapf==0.43.0 platformdirs==4.14.9 termcolor==3.3.0 prettytable==3.19.0
    wcwidth==0.9.4 ftfy==6.3.1 terminaltables==3.1.10 pycocotools==2.0.11
    shapely==2.2.0 cityscapesScripts==2.3.0 pyquaternion==0.9.9
    coloredlogs==15.0.1 humanfriendly==10.0 appdirs==1.4.4
    panopticapi-lite==0.2.0
)
# sfseg's and the tests' imports (pytest, matplotlib, scipy: the image's)
IMPORTS='import mmcv, mmcv.ops, mmengine, mmseg, mmdet, sfseg
import matplotlib, pytest, scipy'
# the machine, as the log states it
MACHINE="import mmcv.ops, numpy, onnxruntime, sys, torch
gpu = torch.cuda.is_available()
print('python', sys.version.split()[0], 'numpy', numpy.__version__,
      'setuptools', __import__('setuptools').__version__)
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'cuDNN',
      torch.backends.cudnn.version(), 'GPU',
      torch.cuda.get_device_name() if gpu else None, 'native bf16',
      gpu and torch.cuda.is_bf16_supported(including_emulation=False))
print('mmcv', mmcv.__version__, 'ops built for CUDA',
      mmcv.ops.get_compiling_cuda_version())
print('onnxruntime', onnxruntime.__version__,
      onnxruntime.get_available_providers())
sys.exit(0 if gpu else 3)"
# the benchmark: 1024x2048 on the GPU; a small CPU run in a rehearsal
BENCH=(--device cuda --tf32 off --shape 1024 2048 --threads 8)
# compiled AMP training: 20 iterations of the toy config, eager and compiled
TRAIN=(--iters 20 --warmup 3 --amp)
if [ $MODE = rehearse ]; then
    BENCH=(--device cpu --shape 128 256 --threads 2 --warmup 1 --rounds 2)
    # the plumbing only: dynamo without Inductor, fp32 (no CPU AMP needed);
    # the compiled inference variants' skips (compiling on the CPU is
    # tested by the suite)
    TRAIN=(--iters 3 --warmup 1 --backend eager)
    COMPILED=(fast compile-fp16 compile-cudagraphs)
fi

if [ $MODE = download ]; then
    mkdir -p "$WHEEL_DIR"
    exec "$PY" -m pip download --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 \
        -d "$WHEEL_DIR" "${WHEELS[@]}"
fi

if [ $MODE = build ]; then
    # mmcv 2.1.0 with CPU ops against the torch of $PY, debug info
    # stripped (80 MB of it): see the header
    tmp=$(mktemp -d)
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$(nproc) "$PY" -m pip wheel \
        --no-deps --no-build-isolation --no-cache-dir mmcv==2.1.0 \
        -w "$tmp" || exit
    "$PY" -m wheel unpack -d "$tmp/tree" "$tmp"/mmcv-2.1.0-*.whl &&
        strip --strip-debug "$tmp"/tree/mmcv-2.1.0/mmcv/_ext*.so &&
        mkdir -p "$WHEEL_DIR" &&
        "$PY" -m wheel pack -d "$WHEEL_DIR" "$tmp/tree/mmcv-2.1.0" || exit
    rm -rf "$tmp"
    ls -l "$WHEEL_DIR"/mmcv-2.1.0-*.whl
    exit
fi

START=$SECONDS
left() { echo $((TOTAL_S - (SECONDS - START))); }
# step NAME CAP CMD...: CMD under `timeout` (CAP or the time left, the
# smaller), its output in $OUT/NAME.log
step() {
    local name=$1 cap=$2 limit
    shift 2
    limit=$(left)
    [ "$cap" -lt "$limit" ] && limit=$cap
    if [ $MODE = dry ]; then
        echo "[plan] $name: timeout <= ${cap}s: $*"
        return 0
    fi
    if [ "$limit" -lt 20 ]; then
        echo "!! $name not run: ${limit}s left of ${TOTAL_S}s"
        return 124
    fi
    echo "==> $name (timeout ${limit}s): $*"
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "<== $name: exit $rc after $((SECONDS - START))s"
    tail -n 15 "$OUT/$name.log"
    return $rc
}

main() {
    if [ $MODE = dry ]; then
        echo "[plan] output folder: $OUT; packages installed into $SITE"
        echo "[plan] budget: setup <= ${SETUP_S}s, tests <= ${TESTS_S}s," \
            "benchmark <= ${BENCH_S}s, compiled inference <=" \
            "${COMPILED_S}s, compiled training: the rest; total <=" \
            "${TOTAL_S}s"
        for c in "${CONFIGS[@]}"; do
            [ -f "$c" ] || { echo "missing config: $c" >&2; return 2; }
        done
        echo "[plan] wheels: $(ls "$WHEEL_DIR"/*.whl 2>/dev/null | wc -l)" \
            "in $WHEEL_DIR; mmcv: $(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null ||
                echo 'no wheel (build one: header)')"
    else
        date -u '+%F %T UTC'
        if [ $MODE = rehearse ]; then
            echo "rehearsal: every step but the GPU's, on the CPU"
        elif ! command -v nvidia-smi >/dev/null || ! nvidia-smi; then
            echo 'no GPU: nvidia-smi is missing or fails'
            return 3
        fi
    fi

    export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONUNBUFFERED=1
    if [ $MODE != dry ] && "$PY" -c "$IMPORTS" 2>/dev/null; then
        echo "packages: present (mmseg, mmcv with ops)"
    else
        step setup "$SETUP_S" "$PY" -m pip install -q --no-index \
            --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
            "$WHEEL_DIR"/*.whl
        if [ $MODE != dry ] && ! "$PY" -c "$IMPORTS"; then
            echo "the packages do not import: carry the wheels (header)"
            return 4
        fi
    fi
    if [ $MODE != dry ]; then
        "$PY" -c "$MACHINE"
        local rc=$?
        if [ $rc = 3 ] && [ $MODE = run ]; then
            echo 'torch sees no GPU'
            return 3
        elif [ $rc != 0 ] && [ $rc != 3 ]; then
            return 4
        fi
    fi

    local official=()
    if [ -f "$OFFICIAL/network/sfnet_resnet.py" ]; then
        export SFSEGNETS_ROOT=$OFFICIAL
        official=(--official-root "$OFFICIAL")
        echo "official code: $OFFICIAL"
    else
        echo "official code: no clone at $OFFICIAL (its tests and rows skip)"
    fi

    step pytest_cuda "$TESTS_S" "$PY" -m pytest -m cuda tests/test_cuda \
        -rs --durations=20 -p no:cacheprovider
    local tests=$?
    step benchmark "$BENCH_S" "$PY" tools/analysis_tools/benchmark.py \
        "${CONFIGS[@]}" "${BENCH[@]}" --variants "${VARIANTS[@]}" \
        ${official[@]+"${official[@]}"} --out-dir "$OUT"
    local bench=$?
    step benchmark_compiled "$COMPILED_S" "$PY" \
        tools/analysis_tools/benchmark.py "${CONFIGS[0]}" "${BENCH[@]}" \
        --variants "${COMPILED[@]}" --out-dir "$OUT/compiled"
    local compiled=$?
    local toy=$OUT/toy_city
    [ $MODE = dry ] || [ -d "$toy" ] || "$PY" \
        tools/dataset_converters/toy_driving.py "$toy" --num-train 8 \
        --num-val 2 --num-test 1 --size 96 192 >/dev/null
    step train_compiled "$TOTAL_S" "$PY" \
        tools/analysis_tools/benchmark_training_compile.py "$TOY" \
        "${TRAIN[@]}" --cfg-options "train_dataloader.dataset.data_root=$toy" \
        train_dataloader.num_workers=0 train_dataloader.persistent_workers=False
    local train=$?
    [ $MODE = dry ] && return 0

    echo "== after $((SECONDS - START))s: cuda tests exit $tests," \
        "benchmark exit $bench, compiled inference exit $compiled," \
        "compiled training exit $train"
    grep -E '^(FAILED|ERROR|SKIPPED)|passed|failed' "$OUT/pytest_cuda.log"
    [ -f "$OUT/benchmark.md" ] && cat "$OUT/benchmark.md"
    [ -f "$OUT/compiled/benchmark.md" ] && cat "$OUT/compiled/benchmark.md"
    grep -E 'median|compile / eager' "$OUT/train_compiled.log"
    [ $tests = 0 ] && [ $bench = 0 ] && [ $compiled = 0 ] && [ $train = 0 ]
}

if [ $MODE = dry ]; then
    main
    exit
fi
mkdir -p "$OUT"
main 2>&1 | tee "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
