from .checkpoint import (
    TRUST_ENV,
    UntrustedCheckpointError,
    allowlist_names,
    load_checkpoint_file,
    patch_checkpoint_loading,
)
from .compat import patch_cpu_distributed, patch_package_lookup
from .runner_config import (
    ConfigNotFoundError,
    add_common_args,
    config_roots,
    enable_amp,
    enable_auto_scale_lr,
    guard_training_samples,
    load_runner_config,
    resolve_config,
    set_data_root,
    skip_imagenet_init_when_loading,
)
from .strict_loading import (
    CheckpointMismatchError,
    check_state_dict,
    load_weights_strictly,
)
from .user_errors import SFSegUserError, exit_on_user_error

__all__ = [
    'CheckpointMismatchError',
    'ConfigNotFoundError',
    'SFSegUserError',
    'check_state_dict',
    'config_roots',
    'enable_amp',
    'enable_auto_scale_lr',
    'guard_training_samples',
    'load_weights_strictly',
    'set_data_root',
    'skip_imagenet_init_when_loading',
    'TRUST_ENV',
    'UntrustedCheckpointError',
    'allowlist_names',
    'exit_on_user_error',
    'load_checkpoint_file',
    'add_common_args',
    'load_runner_config',
    'patch_checkpoint_loading',
    'patch_cpu_distributed',
    'patch_package_lookup',
    'resolve_config',
]
