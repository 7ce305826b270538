"""A fusion conv over upsampled levels, computed at the levels' own sizes.

SFNet's heads upsample every coarse level to the finest (bilinear,
``align_corners=True``), concatenate, and run a 3x3 conv-norm-act
(``conv_last``). The conv is linear in its input channels, so it is the
sum of one 3x3 conv per level; and channel mixing commutes with spatial
resampling, so a coarse level's share needs no conv at the fine size:

    conv(up(x))[:, Y, X] = sum_{dy, dx} up(W_{dy, dx} @ x)[:, Y+dy-1, X+dx-1]

``W_{dy, dx} @ x`` is one matrix product at the coarse size (the k*k taps
as k*k*C_out output columns), and the shifted, upsampled sum of the taps
is separable: a weighted sum of 2 x k rows along the width, then 2 x k
whole rows along the height, each one ``F.embedding_bag``. For
SFNet-STDC1 at 1024x2048 the shares of the 1/8, 1/16 and 1/32 levels in
``conv_last`` cost 1.6 instead of 14.5 GMAC, and the upsampled copies and
their concatenation go (whole model 1220 -> 965 ms on a 2-core AVX2 EPYC,
oneDNN convolutions; docs/benchmark.md). Same values up to float
rounding.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from sfseg.models.layers import upsample_cat

from .layout_copy import to_nchw
from .nnpack_conv import NNPACKConv2d
from .options import AccelerationOptions, in_effect
from .tracing import is_tracing

_PLANS_KEPT = 16


def _axis_taps(n_in, n_out, kernel):
    """Source rows of the upsampled axis at ``o + d - kernel // 2``.

    Returns ``(index0, index1, weight0, weight1)``, each n_out x kernel:
    the two input positions PyTorch's ``align_corners=True`` bilinear
    upsampling reads for that output position (same float32 arithmetic)
    and their weights, zero where the shifted position is padding.
    """
    pos = torch.arange(n_out).view(-1, 1) + torch.arange(kernel) - kernel // 2
    inside = (pos >= 0) & (pos < n_out)
    scale = torch.tensor(float(n_in - 1) if n_out > 1 else 0.0)
    if n_out > 1:
        scale = scale / (n_out - 1)
    src = pos.clamp(0, n_out - 1).float() * scale
    index0 = src.floor().long().clamp(max=n_in - 1)
    frac = (src - index0).clamp(0, 1)
    index1 = (index0 + 1).clamp(max=n_in - 1)
    return index0, index1, (1 - frac) * inside, frac * inside


class _Plan:
    """Gather indices and weights of one (h, w) -> (H, W) level.

    Width pass: bag (dy, y, X) sums 2 x k rows ``(y*w + j)*k*k + dy*k +
    dx`` of the tap table (h*w*k*k rows of C_out). Height pass: bag Y
    sums 2 x k rows ``dy*h + i`` of the width pass output seen as
    (k*h) rows of W*C_out.
    """

    def __init__(self, h, w, out_h, out_w, kernel):
        k = kernel
        col0, col1, wt0, wt1 = _axis_taps(w, out_w, k)
        y = torch.arange(h).view(1, h, 1, 1, 1)
        dy = torch.arange(k).view(k, 1, 1, 1, 1)
        dx = torch.arange(k).view(1, 1, 1, k, 1)
        cols = torch.stack([col0, col1], -1).view(1, 1, out_w, k, 2)
        index = (y * w + cols) * (k * k) + dy * k + dx
        weight = torch.stack([wt0, wt1], -1).view(1, 1, out_w, k, 2)
        self.width_index = index.reshape(-1, 2 * k).int()
        self.width_weight = weight.expand(k, h, -1, -1, -1).reshape(-1, 2 * k)
        row0, row1, wt0, wt1 = _axis_taps(h, out_h, k)
        dy = torch.arange(k).view(1, k, 1)
        rows = torch.stack([row0, row1], -1) + dy * h
        self.height_index = rows.reshape(out_h, 2 * k).int()
        self.height_weight = torch.stack([wt0, wt1], -1).reshape(out_h, -1)


class LowResFusion(nn.Module):
    """``conv_module(upsample_cat(feats))`` with each coarse level's
    share of the conv computed at its own size (module docstring).

    Built from a ConvModule whose conv is k x k (odd k), stride 1,
    padding k // 2, no dilation or groups, zero padding, applied in the
    order conv, norm, act. Levels at least ``low_res_min_area_ratio``
    (an option) times smaller in area than the first ("far") go the
    low-resolution way;
    the others ("near", the first included) are upsampled, concatenated
    and convolved by ``fine[j]``, the conv's slice for levels 0..j (with
    the bias): plain ``nn.Conv2d`` modules, so that
    :func:`~sfseg.acceleration.use_nnpack_conv` can pick their kernels.
    The slices are taken from the conv's current weights and re-taken if
    those change.

    Args:
        conv_module (ConvModule): the fusion conv (e.g. ``conv_last``).
        level_channels (list[int]): channels of each level, finest first.
        options (AccelerationOptions): thresholds and the switch.

    Shape:
        - feats: N x C_i x H_i x W_i, H_i <= H_0 and W_i <= W_0 for i > 0
        - output: N x C_out x H_0 x W_0, in the layout of ``feats[0]``
    """

    def __init__(self, conv_module, level_channels, options=None):
        super().__init__()
        self.options = options or AccelerationOptions()
        if not self.supports(conv_module, level_channels):
            raise ValueError(
                f'{type(conv_module).__name__} cannot be split by level '
                f'(channels {list(level_channels)})'
            )
        conv = conv_module.conv
        self.conv_module = [conv_module]  # a reference, not a submodule
        self.level_channels = list(level_channels)
        self.kernel = conv.kernel_size[0]
        channels_last = conv.weight.is_contiguous(
            memory_format=torch.channels_last
        )
        self.fine = nn.ModuleList()
        for i in range(1, len(level_channels)):
            fine = nn.Conv2d(
                sum(level_channels[:i]),
                conv.out_channels,
                self.kernel,
                padding=self.kernel // 2,
                bias=conv.bias is not None,
            ).to(conv.weight.device, conv.weight.dtype)
            fine.requires_grad_(False)
            if channels_last:
                fine.to(memory_format=torch.channels_last)
            self.fine.append(fine)
        self._plans = {}
        self._take_weights()  # sets _taps and _source

    @staticmethod
    def supports(conv_module, level_channels):
        """True if ``conv_module`` can be split over ``level_channels``."""
        conv = getattr(conv_module, 'conv', None)
        return (
            isinstance(conv_module, ConvModule)
            and tuple(conv_module.order) == ('conv', 'norm', 'act')
            and type(conv) in (nn.Conv2d, NNPACKConv2d)
            and conv.kernel_size[0] == conv.kernel_size[1]
            and conv.kernel_size[0] % 2 == 1
            and tuple(conv.padding) == (conv.kernel_size[0] // 2,) * 2
            and tuple(conv.stride) == (1, 1)
            and tuple(conv.dilation) == (1, 1)
            and conv.groups == 1
            and conv.padding_mode == 'zeros'
            and len(level_channels) > 1
            and sum(level_channels) == conv.in_channels
        )

    def _weights_id(self):
        conv = self.conv_module[0].conv
        params = [conv.weight] + ([conv.bias] if conv.bias is not None else [])
        return tuple((p.data_ptr(), p._version) for p in params)

    @torch.no_grad()
    def _take_weights(self):
        conv = self.conv_module[0].conv
        weight = conv.weight.detach()
        k, c_out = self.kernel, conv.out_channels
        for fine in self.fine:
            fine.weight.copy_(weight[:, : fine.in_channels])
            if conv.bias is not None:
                fine.bias.copy_(conv.bias.detach())
        self._taps = []
        start = self.level_channels[0]
        for channels in self.level_channels[1:]:
            part = weight[:, start : start + channels]
            # C_i x (k*k*C_out), columns ordered (dy, dx, out channel)
            taps = part.permute(1, 2, 3, 0).reshape(channels, k * k * c_out)
            self._taps.append(taps.contiguous())
            start += channels
        self._source = self._weights_id()

    def applies(self, feats) -> bool:
        """True where the split path runs: CPU float32 inference (no
        autograd, autocast or graph capture) of levels no larger than the
        first, with the channels the conv was split for."""
        if not in_effect(self.options).low_res_fusion:
            return False
        if torch.is_grad_enabled() or is_tracing():
            return False
        if torch.is_autocast_enabled('cpu') or len(feats) != len(
            self.level_channels
        ):
            return False
        first = feats[0]
        if first.dim() != 4 or not (
            first.is_contiguous()
            or first.is_contiguous(memory_format=torch.channels_last)
        ):
            return False
        height, width = first.shape[2:]
        for x, channels in zip(feats, self.level_channels):
            if (
                x.device.type != 'cpu'
                or x.dtype != torch.float32
                or x.dim() != 4
                or x.shape[0] != first.shape[0]
                or x.shape[1] != channels
            ):
                return False
        if not all(
            x.shape[2] <= height and x.shape[3] <= width for x in feats[1:]
        ):
            return False
        return self._far_from(feats) < len(feats)

    def _far_from(self, feats):
        """Index of the first level of the trailing run of levels at least
        ``low_res_min_area_ratio`` times smaller than the first (their
        shares run at their own size; a smaller ratio saves less than the
        resampling costs); ``len(feats)`` if there is none."""
        ratio = in_effect(self.options).low_res_min_area_ratio
        area = feats[0].shape[2] * feats[0].shape[3]
        start = len(feats)
        while start > 1:
            x = feats[start - 1]
            if area < ratio * x.shape[2] * x.shape[3]:
                break
            start -= 1
        return start

    def _plan(self, h, w, out_h, out_w):
        key = (h, w, out_h, out_w)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLANS_KEPT:
                self._plans.pop(next(iter(self._plans)))
            plan = self._plans[key] = _Plan(h, w, out_h, out_w, self.kernel)
        return plan

    def _share(self, x, taps, out_h, out_w):
        """One coarse level's share of the conv for one image.

        x: C_i x h x w -> out_h x (out_w * C_out), rows of NHWC pixels.
        """
        h, w = x.shape[1:]
        c_out = self.fine[0].out_channels
        plan = self._plan(h, w, out_h, out_w)
        pixels = x.permute(1, 2, 0).reshape(h * w, -1)  # a view if NHWC
        tap_table = torch.mm(pixels, taps).view(-1, c_out)
        width_pass = F.embedding_bag(
            plan.width_index,
            tap_table,
            per_sample_weights=plan.width_weight,
            mode='sum',
        )
        return F.embedding_bag(
            plan.height_index,
            width_pass.view(-1, out_w * c_out),
            per_sample_weights=plan.height_weight,
            mode='sum',
        )

    def forward(self, feats):
        if self._weights_id() != self._source:
            self._take_weights()
        far = self._far_from(feats)
        near = feats[:far]
        n, _, out_h, out_w = near[0].shape
        out = self.fine[far - 1](near[0] if far == 1 else upsample_cat(near))
        c_out = out.shape[1]
        channels_last = not out.is_contiguous()
        for i in range(n):
            shares = None
            for x, taps in zip(feats[far:], self._taps[far - 1 :]):
                share = self._share(x[i], taps, out_h, out_w)
                shares = share if shares is None else shares.add_(share)
            # out_h x out_w x C_out as a 1 x C_out x out_h x out_w view
            shares = shares.view(1, out_h, out_w, c_out).permute(0, 3, 1, 2)
            if not channels_last:
                shares = to_nchw(shares)
            out[i : i + 1].add_(shares)
        module = self.conv_module[0]
        if module.with_norm:
            out = module.norm(out)
        if module.with_activation:
            out = module.activate(out)
        return out

    def fuse(self, feats):
        """What the head's ``fuse`` computes: this module where it
        applies, else ``conv_module(upsample_cat(feats))``."""
        if self.applies(feats):
            return self(feats)
        return self.conv_module[0](upsample_cat(feats))


def use_low_res_fusion(model: nn.Module, options=None) -> int:
    """Give every head of ``model`` that fuses upsampled levels (a
    ``fuse(levels)`` method computing ``conv_last(upsample_cat(levels))``
    over levels of ``channels`` channels each) a :class:`LowResFusion`:
    registered as its ``low_res_fusion`` submodule (so layouts and NNPACK
    reach its convs) and bound in place of its ``fuse``; returns how
    many. Heads that have one keep it."""
    count = 0
    for module in list(model.modules()):
        if not callable(getattr(module, 'fuse', None)) or isinstance(
            getattr(module, 'low_res_fusion', None), LowResFusion
        ):
            continue
        conv_module = getattr(module, 'conv_last', None)
        conv = getattr(conv_module, 'conv', None)
        channels = getattr(module, 'channels', None)
        if conv is None or not channels or conv.in_channels % channels:
            continue
        levels = [channels] * (conv.in_channels // channels)
        if LowResFusion.supports(conv_module, levels):
            fusion = LowResFusion(conv_module, levels, options)
            module.add_module('low_res_fusion', fusion)
            # an instance attribute: the head's own ``fuse`` stays the
            # paper's, this one answers for the prepared model
            module.fuse = fusion.fuse
            count += 1
    return count
