#!/usr/bin/env bash
# One pinned, idempotent install recipe for sfseg (used by make, CI, README).
#
#   bash scripts/install_env.sh [VENV]      (default VENV=.venv)
#
# Steps already done are skipped: an importable torch (any build, so GPU
# users can pre-install their CUDA torch into the venv), a working mmcv 2.1.0
# with compiled ops (pip's wheel cache also keeps the ~14 min source build).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${VENV:-.venv}}
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check --quiet)

have() { "$PY" -c "$1" >/dev/null 2>&1; }
step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$PY" ]; then
    step "creating Python 3.11 venv in $VENV"
    python3.11 -m venv "$VENV"
fi

if have 'import torch'; then
    step "torch $("$PY" -c 'import torch; print(torch.__version__)') present"
else
    step 'installing torch 2.13.0 (CPU wheel on this machine)'
    "${PIP[@]}" install torch==2.13.0
fi

step 'build requirements (setuptools<82 keeps pkg_resources for mim/mmcv)'
"${PIP[@]}" install -r requirements/build.txt

if have 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"'; then
    step 'mmcv 2.1.0 with ops present'
else
    step 'building mmcv 2.1.0 with ops from source (about 14 min on 2 cores)'
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
        "${PIP[@]}" install --no-build-isolation mmcv==2.1.0
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
