"""Training-loop parts: hooks for exact resume and crash-safe checkpoints,
the official per-epoch poly schedule."""

from .hooks import SFCheckpointHook, SFRandomStateHook
from .schedulers import SFEpochPolyLR, SFEpochPolyParamScheduler

__all__ = [
    'SFCheckpointHook',
    'SFEpochPolyLR',
    'SFEpochPolyParamScheduler',
    'SFRandomStateHook',
]
