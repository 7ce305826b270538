#!/usr/bin/env bash
# Training on a slurm cluster: one task per GPU, the Runner's slurm launcher.
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
# Environment: GPUS (total tasks, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options), PYTHON.
# Always --resume: a requeued job (SFRequeueHook checkpoints and requeues on
# SIGUSR1 / SIGTERM, e.g. sbatch --signal=USR1@120 --requeue) continues from
# the work dir's latest checkpoint.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
DIR="$(cd "$(dirname "$0")" && pwd)"
# SRUN_ARGS is split on purpose: it holds several srun options.
# shellcheck disable=SC2086
exec srun --partition="$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres="gpu:$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$DIR/train.py" "$CONFIG" --launcher slurm --resume "$@"
