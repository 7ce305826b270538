from .compat import patch_checkpoint_loading, patch_cpu_distributed
from .runner_config import (
    add_common_args,
    load_runner_config,
    resolve_config,
)

__all__ = [
    'add_common_args',
    'load_runner_config',
    'patch_checkpoint_loading',
    'patch_cpu_distributed',
    'resolve_config',
]
