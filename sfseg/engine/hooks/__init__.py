from .checkpoint_hook import SFCheckpointHook
from .requeue_hook import SFRequeueHook, TrainingStopped
from .rng_state_hook import SFRandomStateHook

__all__ = [
    'SFCheckpointHook',
    'SFRandomStateHook',
    'SFRequeueHook',
    'TrainingStopped',
]
