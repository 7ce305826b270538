"""Mixed precision training on the CPU.

mmengine's ``AmpOptimWrapper`` refuses to be built on a CPU (it asserts a
GPU, NPU, MLU or MUSA), so ``tools/train.py --amp`` on a CPU with native
bf16 uses this wrapper instead: the forward pass and the loss under
``torch.autocast('cpu', dtype=torch.bfloat16)``; weights, gradients and
optimizer state stay fp32. No loss scale: bf16 has fp32's exponent range,
so small gradients do not underflow as they do in fp16. The non-finite
gradient guard of :class:`SFOptimWrapper` stays on.
"""

import contextlib

import torch
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner.amp import autocast

from .nonfinite_guard import SFOptimWrapper


@OPTIM_WRAPPERS.register_module()
class SFCpuAmpOptimWrapper(SFOptimWrapper):
    """:class:`SFOptimWrapper` whose forward runs under bf16 CPU autocast.

    Args:
        dtype (str | torch.dtype): the autocast dtype; only
            ``'bfloat16'`` (CPU fp16 autocast is emulated and needs a loss
            scale).
        Other arguments: as :class:`SFOptimWrapper`.
    """

    def __init__(self, *args, dtype='bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(
                f'SFCpuAmpOptimWrapper autocasts to bfloat16 only, not '
                f'{dtype!r}; fp16 training needs a GPU (AmpOptimWrapper)'
            )
        self.cast_dtype = torch.bfloat16

    @contextlib.contextmanager
    def optim_context(self, model):
        with (
            super().optim_context(model),
            autocast(device_type='cpu', dtype=self.cast_dtype),
        ):
            yield
