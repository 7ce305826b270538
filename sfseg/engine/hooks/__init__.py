from .checkpoint_hook import SFCheckpointHook
from .rng_state_hook import SFRandomStateHook

__all__ = ['SFCheckpointHook', 'SFRandomStateHook']
