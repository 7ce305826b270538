"""GD-FAM fusion of SFNet-Lite."""

from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..layers import GDFAM
from .sf_neck import build_context, build_laterals, check_num_levels


@MODELS.register_module()
class SFLiteNeck(BaseModule):
    """One GD-FAM between the finest lateral and the context feature.

    The official ``UperNetAlignHeadV2`` without its classifier:
    ``ctx = context(x[-1])``, ``p_i = fpn_in[i](x[i])`` for every level but
    the last, ``fused = GDFAM(p_0, ctx)``.

    Args:
        in_channels (list[int]): channels of the L input levels, fine to
            coarse (SFNet-Lite-R18: strides 4, 16, 32).
        channels (int): C, channels of every output.
        fam_kernel_size (int): kernel of the GD-FAM flow conv.
        context, pool_scales, lateral_bias, conv_cfg, norm_cfg, act_cfg:
            as in :class:`SFNeck`.

    Shape:
        - inputs: L tensors N x C_i x H_i x W_i
        - outputs: L - 1 tensors ``(fused, p_1, ..., p_L-2)``, each
          N x C x H_i x W_i (``fused`` at the finest size)
    """

    def __init__(
        self,
        in_channels,
        channels,
        fam_kernel_size=3,
        context='ppm',
        pool_scales=(1, 2, 3, 6),
        lateral_bias=True,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
        init_cfg=None,
    ):
        super().__init__(init_cfg)
        if len(in_channels) < 2:
            raise ValueError(
                f'{type(self).__name__} needs at least 2 input '
                f'levels, got in_channels={in_channels}'
            )
        self.in_channels = list(in_channels)
        self.channels = channels
        conv_kwargs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.context = build_context(
            context, in_channels[-1], channels, pool_scales, **conv_kwargs
        )
        self.fpn_in = build_laterals(
            in_channels[:-1], channels, lateral_bias, **conv_kwargs
        )
        self.flow_align_module = GDFAM(
            channels, channels // 2, fam_kernel_size
        )

    def forward(self, inputs):
        check_num_levels(self, inputs)
        context = self.context(inputs[-1])
        laterals = [conv(x) for conv, x in zip(self.fpn_in, inputs[:-1])]
        fused = self.flow_align_module(laterals[0], context)
        return (fused, *laterals[1:])
