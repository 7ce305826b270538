"""Training-loop parts: hooks for exact resume, crash-safe checkpoints,
slurm requeue and a compiled network, the non-finite gradient guard, the
official per-epoch poly schedule; what the training and test tools do to
a config."""

from .hooks import (
    SFCheckpointHook,
    SFCompileHook,
    SFRandomStateHook,
    SFRequeueHook,
)
from .optim_wrappers import NonFiniteGradientError, SFOptimWrapper
from .runner_config import (
    add_common_args,
    amp_dtype,
    compile_network,
    enable_amp,
    enable_auto_scale_lr,
    guard_training_samples,
    load_runner_config,
    set_data_root,
    skip_imagenet_init_when_loading,
)
from .schedulers import SFEpochPolyLR, SFEpochPolyParamScheduler

__all__ = [
    'add_common_args',
    'amp_dtype',
    'compile_network',
    'enable_amp',
    'enable_auto_scale_lr',
    'guard_training_samples',
    'load_runner_config',
    'set_data_root',
    'skip_imagenet_init_when_loading',
    'NonFiniteGradientError',
    'SFCheckpointHook',
    'SFCompileHook',
    'SFOptimWrapper',
    'SFRequeueHook',
    'SFEpochPolyLR',
    'SFEpochPolyParamScheduler',
    'SFRandomStateHook',
]
