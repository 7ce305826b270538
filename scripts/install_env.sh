#!/usr/bin/env bash
# One pinned, idempotent install recipe for sfseg (used by make, CI, README).
#
#   bash scripts/install_env.sh [VENV]      (default VENV=.venv)
#   PYTHON=python3.12 bash scripts/install_env.sh
#   bash scripts/install_env.sh --plan [VENV]  (print the choices, install
#                                               nothing)
#
# Python 3.10 to 3.13: the venv is made with $PYTHON, else the first of
# python3.11, python3.12, python3.10, python3.13 found.
# torch: an importable torch is kept (any build, so GPU users may
# pre-install theirs); else scripts/torch_build.py picks the build: the CPU
# wheel (torch==2.13.0+cpu, never PyPI's CUDA build) without an NVIDIA GPU,
# the CUDA build with one; SFSEG_TORCH=cpu|cuda and SFSEG_TORCH_INDEX
# override it.
# mmcv 2.1.0 is built from source with ops (pip's wheel cache keeps the
# ~14 min CPU build): CPU ops for a CPU torch, and for a CUDA torch without
# a GPU or a matching nvcc; CUDA ops for the visible GPUs otherwise, or
# with FORCE_CUDA=1 (scripts/mmcv_build_env.py). On Python 3.13 from its
# source release with the one line of setup.py that 3.13 broke mended
# (scripts/mmcv_source.py).
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
    local candidates=(python3.11 python3.12 python3.10 python3.13) p version
    if [ -n "${PYTHON:-}" ]; then candidates=("$PYTHON"); fi
    for p in "${candidates[@]}"; do
        command -v "$p" >/dev/null 2>&1 || continue
        version=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
            2>/dev/null) || version=''
        case $version in
            3.10 | 3.11 | 3.12 | 3.13) echo "$p"; return ;;
            '') [ -z "${PYTHON:-}" ] || die "PYTHON=$PYTHON does not run" ;;
            *) [ -z "${PYTHON:-}" ] ||
                die "PYTHON=$PYTHON is Python $version; sfseg supports 3.10 to 3.13" ;;
        esac
    done
    if [ -n "${PYTHON:-}" ]; then die "PYTHON=$PYTHON: not found"; fi
    die 'no python3.11, python3.12, python3.10 or python3.13 found; set PYTHON=/path/to/python3.x'
}

if [ ! -x "$PY" ]; then
    BASE=$(pick_python)
    if [ $PLAN = 1 ]; then
        echo "venv: $VENV with $BASE"
        "$BASE" scripts/torch_build.py --plan
        "$BASE" scripts/mmcv_source.py build/mmcv --plan
        echo 'mmcv ops: for the torch above (scripts/mmcv_build_env.py)'
        exit 0
    fi
    step "creating a $("$BASE" --version) venv in $VENV"
    "$BASE" -m venv "$VENV"
elif [ $PLAN = 1 ]; then
    echo "venv: $VENV exists ($("$PY" --version))"
    if ! have 'import torch'; then
        "$PY" scripts/torch_build.py --plan
        exit 0
    fi
    echo "torch: $("$PY" -W ignore -c 'import torch; print(torch.__version__)')"
    "$PY" scripts/mmcv_source.py build/mmcv --plan
    echo 'mmcv build:'
    exec "$PY" scripts/mmcv_build_env.py
fi

TORCH_BUILD='import torch; print(torch.__version__, "(CUDA %s)" % torch.version.cuda if torch.version.cuda else "(CPU)")'
if have 'import torch'; then
    step "torch $("$PY" -W ignore -c "$TORCH_BUILD") present"
else
    mapfile -t TORCH < <("$PY" scripts/torch_build.py) || exit 1
    [ ${#TORCH[@]} -gt 1 ] || exit 1
    step "installing ${TORCH[0]}"
    "${PIP[@]}" install "${TORCH[@]:1}"
    step "installed torch $("$PY" -W ignore -c "$TORCH_BUILD")"
fi

step 'build requirements (setuptools<82 keeps pkg_resources for mim/mmcv)'
"${PIP[@]}" install -r requirements/build.txt

MMCV_OK='import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"'
CUDA_OPS='import mmcv.ops; assert mmcv.ops.get_compiling_cuda_version() != "not available"'
if have "$MMCV_OK" && have "$CUDA_OPS"; then
    step 'mmcv 2.1.0 with CUDA ops present'
else
    mapfile -t BUILD_ENV < <("$PY" scripts/mmcv_build_env.py) || exit 1
    [ ${#BUILD_ENV[@]} -gt 0 ] || exit 1
    WANT_CUDA=0
    case " ${BUILD_ENV[*]} " in *' FORCE_CUDA=1 '*) WANT_CUDA=1 ;; esac
    if [ $WANT_CUDA = 0 ] && have "$MMCV_OK"; then
        step 'mmcv 2.1.0 with CPU ops present'
    else
        SOURCE=$("$PY" scripts/mmcv_source.py build/mmcv) || exit 1
        MMCV_PIP=("${PIP[@]}" install --no-build-isolation)
        # a CUDA torch never takes the wheel cache, which may hold a build
        # against another torch
        if have 'import torch; assert torch.version.cuda'; then
            MMCV_PIP+=(--no-cache-dir)
        fi
        # an mmcv without the wanted ops goes first: pip would keep it
        "${PIP[@]}" uninstall --yes mmcv >/dev/null 2>&1 || true
        if [ $WANT_CUDA = 1 ]; then
            step "building mmcv 2.1.0 with CUDA ops from $SOURCE (${BUILD_ENV[*]})"
        else
            step "building mmcv 2.1.0 with CPU ops from $SOURCE (about 14 min on 2 cores; pip's wheel cache keeps a build from the index)"
        fi
        env "${BUILD_ENV[@]}" "${MMCV_PIP[@]}" "$SOURCE"
        rm -rf build/mmcv
        have "$MMCV_OK" || die 'mmcv 2.1.0 does not import with its ops; see the build log above'
        [ $WANT_CUDA = 0 ] || have "$CUDA_OPS" ||
            die 'mmcv 2.1.0 was built without CUDA ops; see the build log above'
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
