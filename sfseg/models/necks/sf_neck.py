"""Aligned FPN of SFNet: context module on top, FAMs top-down."""

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..layers import FAM, PPM, BilinearAlign


def build_context(
    context, in_channels, channels, pool_scales, conv_cfg, norm_cfg, act_cfg
):
    """Context module on the coarsest level: ``'ppm'`` or ``'conv'``.

    ``'conv'`` (a 1x1 conv-norm-act, i.e. a plain FPN top) is the no-PPM
    ablation of the paper.
    """
    if context == 'ppm':
        return PPM(
            in_channels,
            channels,
            pool_scales=pool_scales,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
    if context == 'conv':
        return ConvModule(
            in_channels,
            channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
    raise ValueError(f"context must be 'ppm' or 'conv', got {context!r}")


def build_laterals(in_channels, channels, bias, **conv_kwargs):
    """1x1 conv-norm-act per level (official ``fpn_in``, conv with bias)."""
    return nn.ModuleList(
        ConvModule(c, channels, 1, bias=bias, **conv_kwargs)
        for c in in_channels
    )


def check_num_levels(neck, inputs):
    if len(inputs) != len(neck.in_channels):
        raise ValueError(
            f'{type(neck).__name__} expects {len(neck.in_channels)} '
            f'input levels (in_channels={neck.in_channels}), '
            f'got {len(inputs)}'
        )


@MODELS.register_module()
class SFNeck(BaseModule):
    """Aligned FPN (the official ``UperNetAlignHead`` without its fusion).

    From the coarsest level down: ``f = context(x[-1])``; then for every
    finer level ``i``: ``c = fpn_in[i](x[i])``, ``f = c + FAM(c, f)`` (the
    sum is carried down), ``P_i = fpn_out[i](f)``.

    Args:
        in_channels (list[int]): channels of the L input levels, fine to
            coarse.
        channels (int): C, channels of every output (``fpn_dim``).
        fam_levels (list[bool], optional): per lateral level (L - 1 entries,
            fine to coarse) whether to align with FAM; ``False`` uses plain
            bilinear upsampling (paper Table 8). Default: all True.
        fam_kernel_size (int): kernel of the FAM flow conv (Table 9b).
        context (str): ``'ppm'`` (official) or ``'conv'``.
        pool_scales (tuple[int]): PPM pooling sizes.
        lateral_bias (bool): bias in the 1x1 lateral convs; the official
            model has one (redundant before BN, kept so checkpoints load).
        conv_cfg, norm_cfg, act_cfg (dict): as in mmcv ``ConvModule``.
        fpn_out_norm_cfg (dict, optional): norm of the ``fpn_out`` convs
            (default ``norm_cfg``). The official model keeps them plain
            BN when the rest is synchronised.

    Shape:
        - inputs: L tensors N x C_i x H_i x W_i (strides s_0 < ... < s_L-1)
        - outputs: L tensors N x C x H_i x W_i: ``(P_0, ..., P_L-2, ctx)``
    """

    def __init__(
        self,
        in_channels,
        channels,
        fam_levels=None,
        fam_kernel_size=3,
        context='ppm',
        pool_scales=(1, 2, 3, 6),
        lateral_bias=True,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
        fpn_out_norm_cfg=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        num_laterals = len(in_channels) - 1
        if fam_levels is None:
            fam_levels = [True] * num_laterals
        if len(fam_levels) != num_laterals:
            raise ValueError(
                f'{type(self).__name__}: fam_levels has {len(fam_levels)} '
                f'entries, expected one per lateral level ({num_laterals})'
            )
        self.in_channels = list(in_channels)
        self.channels = channels
        self.fam_levels = list(fam_levels)
        conv_kwargs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.context = build_context(
            context, in_channels[-1], channels, pool_scales, **conv_kwargs
        )
        self.fpn_in = build_laterals(
            in_channels[:-1], channels, lateral_bias, **conv_kwargs
        )
        out_kwargs = dict(conv_kwargs, norm_cfg=fpn_out_norm_cfg or norm_cfg)
        self.fpn_out = nn.ModuleList(
            ConvModule(channels, channels, 3, padding=1, **out_kwargs)
            for _ in in_channels[:-1]
        )
        self.fpn_out_align = nn.ModuleList(
            FAM(channels, channels // 2, fam_kernel_size)
            if use_fam
            else BilinearAlign()
            for use_fam in self.fam_levels
        )

    def forward_with_sums(self, inputs):
        """Run the aligned FPN and also return the carried sums.

        Returns:
            tuple: ``outs`` as in :meth:`forward`, and ``sums``, the L - 1
            tensors ``c + FAM(c, f)`` indexed by level (fine to coarse);
            the official deep supervision reads these.
        """
        check_num_levels(self, inputs)
        feat = self.context(inputs[-1])
        outs = [feat]
        sums = []
        for i in reversed(range(len(self.fpn_in))):
            lateral = self.fpn_in[i](inputs[i])
            feat = lateral + self.fpn_out_align[i](lateral, feat)
            sums.append(feat)
            outs.append(self.fpn_out[i](feat))
        return tuple(reversed(outs)), tuple(reversed(sums))

    def forward(self, inputs):
        return self.forward_with_sums(inputs)[0]
