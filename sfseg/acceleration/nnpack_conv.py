"""3x3 convolutions through NNPACK's fast algorithms where they are faster.

oneDNN runs direct convolutions; on a CPU without AVX-512 they reach
about 80% of the fp32 FMA peak and cannot go further. NNPACK (built into
PyTorch's CPU wheels, which consider it only for batches of 16 or more)
computes stride-1 convolutions in a transformed domain that needs
far fewer multiplications: its automatic choice is FFT on 16x16 tiles
for the feature-map sizes of a 1024x2048 frame and Winograd F(6x6, 3x3)
on small maps. On a 2-core AVX2 EPYC the 128-512 channel 3x3 layers of
ResNet-18 run 1.3-2.2x faster, and the error stays at fp32 rounding level
(about 1e-5 relative). NNPACK has no AVX-512 kernels and is slower on
narrow layers, so it is not always the faster choice: :class:`NNPACKConv2d`
times both kernels on the first input of each shape and keeps the faster
one, so no convolution becomes slower on the CPU at hand. NNPACK reads
NCHW only: a channels-last input is copied to NCHW and the output back
(:mod:`.layout_copy`), which pays off for the widest convolutions only
(SFNet's ``conv_last`` runs 1.5x faster so, 279 against 419 ms for 256
channels at 256 x 512), so convolutions under
``NNPACKConv2d.min_channels_last_macs`` keep oneDNN untimed there.
:mod:`sfseg.acceleration.layout_tuner` chooses between the two layouts for the
whole model.
"""

import time

import torch
import torch.nn as nn
from torch import Tensor

from .layout_copy import to_channels_last, to_nchw
from .options import AccelerationOptions, in_effect
from .tracing import is_tracing


def nnpack_available() -> bool:
    # Also initialises NNPACK: its convolution fails until this has run.
    return bool(torch._nnpack_available())


def nnpack_eligible(conv: nn.Module) -> bool:
    """Convolutions NNPACK computes with its fast algorithms: plain 3x3,
    stride 1, no dilation or groups, zero padding 1."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding == (1, 1)
        and conv.padding_mode == 'zeros'
    )


def _best_time(fn, repeats):
    """(best seconds of ``repeats`` runs of ``fn``, its last output)."""
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


class NNPACKConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose CPU inference uses NNPACK where that is faster.

    Same parameters and state dict as the convolution it replaces (made
    by :func:`use_nnpack_conv`, which also sets its ``options``). The first
    no-grad CPU float32 call with an input of a new shape and layout (NCHW
    or channels-last) times oneDNN and NNPACK (``nnpack_repeats`` runs
    each, after a warm-up that is skipped where an earlier run makes it
    needless), returns the output of the faster and remembers
    the faster kernel for that shape, layout and thread count (the times
    are kept in ``kernel_times`` for reports); NNPACK must take less than
    ``nnpack_min_speedup`` of oneDNN's time. Channels-last inputs are
    timed only from ``nnpack_min_channels_last_macs`` multiply-adds on, as
    the layout copies NNPACK needs cost more than it saves on smaller
    ones. Training, tracing, autocast and other dtypes always take
    ``nn.Conv2d``'s path.

    Shape: N x C_in x H x W -> N x C_out x H x W, in the input's layout.
    """

    options = AccelerationOptions(nnpack=True)

    def kernel_for(self, x: Tensor) -> str:
        """'nnpack' or 'onednn' for this input (timing it if new)."""
        return self._choose(x, in_effect(self.options))[0]

    def _choose(self, x, options):
        """(kernel, its output for ``x`` if choosing ran it, else None)."""
        layout = 'nchw' if x.is_contiguous() else 'channels_last'
        key = (tuple(x.shape), torch.get_num_threads(), layout)
        choices = self.__dict__.setdefault('_kernel_choices', {})
        if key in choices:
            return choices[key], None
        if not options.kernel_timing:
            self.__dict__.setdefault('_warm', set()).add(key)
            return 'onednn', None
        if layout == 'channels_last' and (
            x.numel() * self.out_channels * 9
            < options.nnpack_min_channels_last_macs
        ):
            choices[key] = 'onednn'
            return 'onednn', None
        choices[key], out = self._time_kernels(x, key, options)
        return choices[key], out

    def _time_kernels(self, x, key, options):
        # A layout's first oneDNN run builds its primitive: time another
        # unless an untimed call has run this shape already.
        warm = key in self.__dict__.get('_warm', ())
        onednn, onednn_out = _best_time(
            lambda: self._conv_forward(x, self.weight, self.bias),
            options.nnpack_repeats + (not warm),
        )
        limit = options.nnpack_min_speedup * onednn  # near-ties: oneDNN
        try:
            nnpack, nnpack_out = _best_time(lambda: self._nnpack(x), 1)
        except RuntimeError:  # e.g. a workspace NNPACK cannot allocate
            return 'onednn', onednn_out
        if nnpack >= limit:  # the first run also sized NNPACK's workspace
            nnpack, nnpack_out = _best_time(
                lambda: self._nnpack(x), options.nnpack_repeats
            )
        times = self.__dict__.setdefault('kernel_times', {})
        times[key] = dict(onednn=onednn, nnpack=nnpack)
        if nnpack < limit:
            return 'nnpack', nnpack_out
        return 'onednn', onednn_out

    def _nnpack(self, x):
        if not x.is_contiguous():
            return to_channels_last(self._nnpack(to_nchw(x)))
        return torch._nnpack_spatial_convolution(
            x, self.weight.contiguous(), self.bias, list(self.padding), [1, 1]
        )

    def forward(self, x: Tensor) -> Tensor:
        options = in_effect(self.options)
        if (
            options.nnpack
            and x.device.type == 'cpu'
            and x.dtype == torch.float32
            and x.dim() == 4
            and (
                x.is_contiguous()
                or x.is_contiguous(memory_format=torch.channels_last)
            )
            and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled('cpu')
            and not is_tracing()
        ):
            kernel, out = self._choose(x, options)
            if out is not None:  # the timing runs computed it already
                return out
            if kernel == 'nnpack':
                return self._nnpack(x)
        return super().forward(x)


def use_nnpack_conv(model: nn.Module, options=None) -> int:
    """Turn every eligible ``nn.Conv2d`` of ``model`` into a
    :class:`NNPACKConv2d` in place (parameters untouched) with
    ``options``; returns how many. Does nothing where PyTorch was built
    without NNPACK."""
    if not nnpack_available():
        return 0
    options = options or AccelerationOptions(nnpack=True)
    count = 0
    for module in model.modules():
        if nnpack_eligible(module):
            module.__class__ = NNPACKConv2d
            module.options = options
            count += 1
    return count
