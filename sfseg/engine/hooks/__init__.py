from .checkpoint_hook import SFCheckpointHook
from .compile_hook import SFCompileHook
from .requeue_hook import SFRequeueHook, TrainingStopped
from .rng_state_hook import SFRandomStateHook

__all__ = [
    'SFCheckpointHook',
    'SFCompileHook',
    'SFRandomStateHook',
    'SFRequeueHook',
    'TrainingStopped',
]
