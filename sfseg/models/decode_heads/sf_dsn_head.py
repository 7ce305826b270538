"""Deep-supervision branch of SFNet."""

from mmcv.cnn import ConvModule
from mmseg.registry import MODELS

from .decode_head import SFDecodeHead


@MODELS.register_module()
class SFDSNHead(SFDecodeHead):
    """3x3 conv-norm-act -> Dropout2d -> 1x1 classifier (official ``dsn``).

    Built and called by :class:`SFHead` on its intermediate aligned sums
    during training only; reusing ``SFDecodeHead`` gives it mmseg's loss
    computation (resize, pixel sampler, loss list, accuracy).

    Shape:
        - input: N x C x H x W
        - output: N x num_classes x H x W
    """

    def __init__(self, conv_bias=True, **kwargs):
        kwargs.setdefault('dropout_ratio', 0.1)
        super().__init__(**kwargs)
        self.conv = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            bias=conv_bias,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def forward(self, inputs):
        return self.cls_seg(self.conv(inputs))
