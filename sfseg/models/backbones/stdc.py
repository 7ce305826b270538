"""STDC backbone with the stride-4 output SFNet needs."""

from mmcv.cnn import ConvModule
from mmseg.models.backbones import STDCNet
from mmseg.registry import MODELS

from ..utils import swap_norm


@MODELS.register_module()
class SFSTDCNet(STDCNet):
    """mmseg's ``STDCNet`` returning the stages SFNet selects.

    mmseg's STDCNet returns only the stride-8/16/32 stages; the official
    SFNet heads also read the stride-4 one (``feat4``). Same modules and
    maths as mmseg (which match the official ``STDCNet813`` /
    ``STDCNet1446`` feature layers); only the returned stages change.

    Args:
        out_indices (tuple[int]): stages to return, 0 = stride 2 ...
            4 = stride 32. Default: strides 4, 8, 16, 32.
        **kwargs: ``STDCNet`` arguments. ``channels`` defaults to the
            official (32, 64, 256, 512, 1024), ``bottleneck_type`` to
            ``'cat'``, ``norm_cfg`` to BN and ``act_cfg`` to ReLU.
        convx_norm_cfg (dict, optional): norm of the conv-norm-act units
            (the official ``ConvX``: the stem and every STDC-module conv);
            default ``norm_cfg``. The official model keeps them plain BN
            under SyncBN training and synchronises only the stride-2
            depthwise ``downsample`` (``avd_layer``) BNs.

    Shape (STDC1 / STDC2, input N x 3 x H x W, default out_indices):
        - outputs: (N x 64 x H/4 x W/4, N x 256 x H/8 x W/8,
          N x 512 x H/16 x W/16, N x 1024 x H/32 x W/32)
    """

    def __init__(
        self,
        stdc_type='STDCNet1',
        out_indices=(1, 2, 3, 4),
        convx_norm_cfg=None,
        **kwargs,
    ):
        kwargs.setdefault('in_channels', 3)
        kwargs.setdefault('channels', (32, 64, 256, 512, 1024))
        kwargs.setdefault('bottleneck_type', 'cat')
        kwargs.setdefault('norm_cfg', dict(type='BN', requires_grad=True))
        kwargs.setdefault('act_cfg', dict(type='ReLU'))
        super().__init__(stdc_type=stdc_type, **kwargs)
        num_stages = len(self.stages)
        for index in out_indices:
            if not 0 <= index < num_stages:
                raise ValueError(
                    f'{type(self).__name__}: out_indices {out_indices} must '
                    f'lie in [0, {num_stages - 1}]'
                )
        self.out_indices = tuple(out_indices)
        if convx_norm_cfg is not None:
            for name, module in self.stages.named_modules():
                if (
                    isinstance(module, ConvModule)
                    and module.with_norm
                    and not name.endswith('downsample')
                ):
                    swap_norm(module, module.norm_name, convx_norm_cfg)

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        if self.with_final_conv:
            feats[-1] = self.final_conv(feats[-1])
        return tuple(feats[i] for i in self.out_indices)
