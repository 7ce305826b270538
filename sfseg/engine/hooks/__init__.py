from .checkpoint_hook import SFCheckpointHook
from .compile_hook import SFCompileHook
from .official_weights_hook import SFOfficialWeightsHook
from .requeue_hook import SFRequeueHook, TrainingStopped
from .rng_state_hook import SFRandomStateHook

__all__ = [
    'SFCheckpointHook',
    'SFCompileHook',
    'SFOfficialWeightsHook',
    'SFRandomStateHook',
    'SFRequeueHook',
    'TrainingStopped',
]
