"""Inference acceleration: everything that makes a trained model run
faster without changing what it computes beyond 1e-4 of the largest
logit. One entry point, :func:`accelerate`, takes one frozen
:class:`AccelerationOptions`; :func:`override` changes options inside a
``with`` block. The paper's modules (``sfseg.models``) know nothing of
this package: its replacements attach from outside.
"""

from sfseg.utils import cpu_info

from .compiled_network import CompiledNetwork, use_compiled_network
from .flow_warp import FastFlowWarp, use_fast_flow_warp
from .gather_warp import can_gather_warp, gather_warp
from .layout_copy import to_channels_last, to_nchw
from .layout_tuner import SCHEDULE, LayoutTuner, tune_layout
from .low_res_fusion import LowResFusion, use_low_res_fusion
from .memory import (
    current_memory_bytes,
    peak_memory_bytes,
    reset_peak_memory,
)
from .nnpack_conv import (
    NNPACKConv2d,
    nnpack_available,
    nnpack_eligible,
    use_nnpack_conv,
)
from .options import AccelerationOptions, in_effect, override
from .precision import (
    PRECISIONS,
    PYTORCH_PRECISIONS,
    autocast_for,
    resolve_for_device,
)
from .prepare import accelerate, drop_training_branches, fold_batchnorms
from .separable_max_pool import (
    SeparableMaxPool2d,
    separable_max_pool,
    use_separable_max_pool,
)
from .tracing import is_tracing

__all__ = [
    'AccelerationOptions',
    'CompiledNetwork',
    'FastFlowWarp',
    'LayoutTuner',
    'LowResFusion',
    'NNPACKConv2d',
    'PRECISIONS',
    'PYTORCH_PRECISIONS',
    'SCHEDULE',
    'SeparableMaxPool2d',
    'accelerate',
    'autocast_for',
    'can_gather_warp',
    'cpu_info',
    'current_memory_bytes',
    'drop_training_branches',
    'fold_batchnorms',
    'gather_warp',
    'in_effect',
    'is_tracing',
    'nnpack_available',
    'nnpack_eligible',
    'override',
    'peak_memory_bytes',
    'reset_peak_memory',
    'resolve_for_device',
    'separable_max_pool',
    'to_channels_last',
    'to_nchw',
    'tune_layout',
    'use_compiled_network',
    'use_fast_flow_warp',
    'use_low_res_fusion',
    'use_nnpack_conv',
    'use_separable_max_pool',
]
