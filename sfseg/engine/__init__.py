"""Training-loop parts: hooks for exact resume and crash-safe checkpoints."""

from .hooks import SFCheckpointHook, SFRandomStateHook

__all__ = ['SFCheckpointHook', 'SFRandomStateHook']
