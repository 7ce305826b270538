#!/usr/bin/env bash
# One pinned, idempotent install recipe for sfseg (used by make, CI, README).
#
#   bash scripts/install_env.sh [VENV]      (default VENV=.venv)
#   PYTHON=python3.12 bash scripts/install_env.sh
#   bash scripts/install_env.sh --plan [VENV]  (print the choices, install
#                                               nothing)
#
# Python 3.10, 3.11 and 3.12 are supported: the venv is made with $PYTHON,
# else the first of python3.11, python3.12, python3.10 found.
# Steps already done are skipped: an importable torch (any build, so GPU
# users pre-install their CUDA torch into the venv), a working mmcv 2.1.0
# with compiled ops (pip's wheel cache also keeps the ~14 min CPU build).
# With a CUDA torch, mmcv is built with CUDA ops (scripts/mmcv_build_env.py:
# FORCE_CUDA, TORCH_CUDA_ARCH_LIST from the visible GPUs, nvcc checked
# against torch's CUDA) and never taken from the wheel cache, which may
# hold a CPU-only build of the same version.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAN=0
if [ "${1:-}" = --plan ]; then PLAN=1; shift; fi
VENV=${1:-${VENV:-.venv}}
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check --quiet)

have() { "$PY" -c "$1" >/dev/null 2>&1; }
step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

pick_python() {
    local candidates=(python3.11 python3.12 python3.10) p version
    if [ -n "${PYTHON:-}" ]; then candidates=("$PYTHON"); fi
    for p in "${candidates[@]}"; do
        command -v "$p" >/dev/null 2>&1 || continue
        version=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
            2>/dev/null) || version=''
        case $version in
            3.10 | 3.11 | 3.12) echo "$p"; return ;;
            '') [ -z "${PYTHON:-}" ] || die "PYTHON=$PYTHON does not run" ;;
            *) [ -z "${PYTHON:-}" ] ||
                die "PYTHON=$PYTHON is Python $version; sfseg supports 3.10, 3.11 and 3.12" ;;
        esac
    done
    if [ -n "${PYTHON:-}" ]; then die "PYTHON=$PYTHON: not found"; fi
    die 'no python3.11, python3.12 or python3.10 found; set PYTHON=/path/to/python3.x'
}

if [ ! -x "$PY" ]; then
    BASE=$(pick_python)
    if [ $PLAN = 1 ]; then
        echo "venv: $VENV with $BASE"
        exit 0
    fi
    step "creating a $("$BASE" --version) venv in $VENV"
    "$BASE" -m venv "$VENV"
elif [ $PLAN = 1 ]; then
    echo "venv: $VENV exists ($("$PY" --version))"
    if ! have 'import torch'; then
        echo 'torch: not installed (torch 2.13.0 would be)'
        exit 0
    fi
    echo "torch: $("$PY" -c 'import torch; print(torch.__version__)')"
    echo 'mmcv build:'
    exec "$PY" scripts/mmcv_build_env.py
fi

if have 'import torch'; then
    step "torch $("$PY" -c 'import torch; print(torch.__version__)') present"
else
    step 'installing torch 2.13.0 (CPU wheel on this machine)'
    "${PIP[@]}" install torch==2.13.0
fi

step 'build requirements (setuptools<82 keeps pkg_resources for mim/mmcv)'
"${PIP[@]}" install -r requirements/build.txt

CUDA_TORCH='import torch; assert torch.version.cuda'
# a CUDA torch needs mmcv's CUDA ops, not just any compiled ops
if have 'import mmcv, mmcv.ops, torch; assert mmcv.__version__ == "2.1.0"
assert torch.version.cuda is None or mmcv.ops.get_compiling_cuda_version() != "not available"'; then
    step 'mmcv 2.1.0 with ops present'
else
    mapfile -t BUILD_ENV < <("$PY" scripts/mmcv_build_env.py) || exit 1
    [ ${#BUILD_ENV[@]} -gt 0 ] || exit 1
    if have "$CUDA_TORCH"; then
        step "building mmcv 2.1.0 with CUDA ops from source (${BUILD_ENV[*]})"
        env "${BUILD_ENV[@]}" "${PIP[@]}" install --no-build-isolation \
            --no-cache-dir --force-reinstall --no-deps mmcv==2.1.0
        have 'import mmcv.ops; assert mmcv.ops.get_compiling_cuda_version() != "not available"' ||
            die 'mmcv 2.1.0 was built without CUDA ops; see the build log above'
    else
        step 'building mmcv 2.1.0 with ops from source (about 14 min on 2 cores)'
        env "${BUILD_ENV[@]}" "${PIP[@]}" install --no-build-isolation mmcv==2.1.0
    fi
fi

step 'mmengine, mmsegmentation, mmdet and test tools'
"${PIP[@]}" install -r requirements/runtime.txt -r requirements/tests.txt \
    -r requirements/deploy.txt

if ! have 'import panopticapi.evaluation, panopticapi.utils'; then
    step 'panopticapi-lite 0.2.0 without its numpy<2 pin (mmdet PQ metric)'
    "${PIP[@]}" install --no-deps panopticapi-lite==0.2.0
fi

if ! have 'import mim'; then
    step 'openmim 0.3.9 without its openxlab pins'
    "${PIP[@]}" install --no-deps openmim==0.3.9
    "${PIP[@]}" install -r requirements/mim.txt
fi
# Re-pin in case anything above pulled another setuptools.
"${PIP[@]}" install 'setuptools>=77.0.3,<82'

step 'sfseg (non-editable, so mim finds sfseg/.mim/{configs,tools})'
"${PIP[@]}" install --no-deps --no-build-isolation .
rm -rf build sfseg.egg-info
"$PY" -c 'import mmseg, sfseg; print("sfseg", sfseg.__version__, "ready")'
