"""ResNet-D backbone of the official SFNet (deep stem, dilated conv2)."""

from mmcv.cnn import build_conv_layer
from mmseg.models.backbones.resnet import BasicBlock, Bottleneck, ResNetV1c
from mmseg.registry import MODELS


class SFBasicBlock(BasicBlock):
    """BasicBlock that dilates its second (non-strided) 3x3 conv.

    mmseg's ``BasicBlock`` puts the dilation on ``conv1``; the official
    SFNet ("variant D") dilates ``conv2`` and keeps ``conv1`` at dilation 1
    with the stage stride. Same weight shapes and key names, different
    outputs, so released checkpoints need this block.

    Shape:
        - input: N x C_in x H x W
        - output: N x planes x H/stride x W/stride
    """

    def __init__(self, inplanes, planes, stride=1, dilation=1, **kwargs):
        super().__init__(inplanes, planes, stride=stride, dilation=1, **kwargs)
        self.dilation = dilation
        self.conv2 = build_conv_layer(
            kwargs.get('conv_cfg'),
            planes,
            planes,
            3,
            padding=dilation,
            dilation=dilation,
            bias=False,
        )


@MODELS.register_module()
class SFResNetD(ResNetV1c):
    """ResNet with the official SFNet layout: ResNet-D.

    Deep stem 3->64->64->``stem_channels`` (128) + max-pool, stage strides
    (1, 2, 2, 2) so the output stride stays 32, and dilations (1, 1, 2, 4)
    applied to the non-strided 3x3 conv of every block in stages 3 and 4.
    For depth 18/34 this needs :class:`SFBasicBlock`; for depth 50/101 it
    is identical to ``ResNetV1c(stem_channels=128, dilations=(1, 1, 2, 4),
    strides=(1, 2, 2, 2), contract_dilation=False)``.

    Shape (depth 18, input N x 3 x H x W):
        - outputs: (N x 64 x H/4 x W/4, N x 128 x H/8 x W/8,
          N x 256 x H/16 x W/16, N x 512 x H/32 x W/32)
    """

    arch_settings = {
        18: (SFBasicBlock, (2, 2, 2, 2)),
        34: (SFBasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
    }

    def __init__(
        self,
        depth,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
        **kwargs,
    ):
        super().__init__(
            depth=depth,
            stem_channels=stem_channels,
            strides=strides,
            dilations=dilations,
            contract_dilation=contract_dilation,
            **kwargs,
        )

    def train(self, mode=True):
        # mmseg's ResNet.train() returns None; return self like nn.Module.
        super().train(mode)
        return self
