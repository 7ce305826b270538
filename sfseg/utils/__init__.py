from .checkpoint import (
    TRUST_ENV,
    UntrustedCheckpointError,
    allowlist_names,
    exit_on_untrusted_checkpoint,
    load_checkpoint_file,
    patch_checkpoint_loading,
)
from .compat import patch_cpu_distributed
from .deploy import (
    drop_training_branches,
    fold_batchnorms,
    prepare_for_inference,
)
from .runner_config import (
    add_common_args,
    load_runner_config,
    resolve_config,
)

__all__ = [
    'TRUST_ENV',
    'UntrustedCheckpointError',
    'allowlist_names',
    'exit_on_untrusted_checkpoint',
    'load_checkpoint_file',
    'drop_training_branches',
    'fold_batchnorms',
    'prepare_for_inference',
    'add_common_args',
    'load_runner_config',
    'patch_checkpoint_loading',
    'patch_cpu_distributed',
    'resolve_config',
]
