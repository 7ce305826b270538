from . import cpu_info
from .checkpoint import (
    TRUST_ENV,
    CheckpointFileError,
    UntrustedCheckpointError,
    allowlist_names,
    load_checkpoint_file,
    patch_checkpoint_loading,
)
from .compat import patch_cpu_distributed, patch_package_lookup
from .config_lookup import ConfigNotFoundError, config_roots, resolve_config
from .strict_loading import (
    CheckpointMismatchError,
    check_state_dict,
    load_weights_strictly,
)
from .user_errors import SFSegUserError, exit_on_user_error

__all__ = [
    'cpu_info',
    'CheckpointFileError',
    'CheckpointMismatchError',
    'ConfigNotFoundError',
    'SFSegUserError',
    'check_state_dict',
    'config_roots',
    'load_weights_strictly',
    'TRUST_ENV',
    'UntrustedCheckpointError',
    'allowlist_names',
    'exit_on_user_error',
    'load_checkpoint_file',
    'patch_checkpoint_loading',
    'patch_cpu_distributed',
    'patch_package_lookup',
    'resolve_config',
]
