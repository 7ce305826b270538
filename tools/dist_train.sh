#!/usr/bin/env bash
# Multi-process training through torchrun.
# Usage: tools/dist_train.sh CONFIG NPROC [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT.
# A failed worker (killed, out of memory, a crash) restarts all workers up
# to MAX_RESTARTS times (default 3; 0 ends the job at the first failure);
# every start resumes from the work dir's latest checkpoint (--resume), so
# a restart loses at most one checkpoint interval.
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
MAX_RESTARTS=${MAX_RESTARTS:-3}
DIR="$(cd "$(dirname "$0")" && pwd)"
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" \
    --nproc_per_node="$NPROC" --max-restarts="$MAX_RESTARTS" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch --resume "$@"
