"""Training-loop parts: hooks for exact resume, crash-safe checkpoints and
slurm requeue, the non-finite gradient guard, the official per-epoch poly
schedule."""

from .hooks import SFCheckpointHook, SFRandomStateHook, SFRequeueHook
from .optim_wrappers import NonFiniteGradientError, SFOptimWrapper
from .schedulers import SFEpochPolyLR, SFEpochPolyParamScheduler

__all__ = [
    'NonFiniteGradientError',
    'SFCheckpointHook',
    'SFOptimWrapper',
    'SFRequeueHook',
    'SFEpochPolyLR',
    'SFEpochPolyParamScheduler',
    'SFRandomStateHook',
]
