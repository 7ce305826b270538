"""FLOPs and parameters of a segmentor from its config.

FLOPs follow mmengine's (fvcore-style) counter: one multiply-accumulate of
a conv or linear layer counts as one FLOP. The segmentor is measured in
``mode='tensor'`` (eval), so training-only branches are excluded. Written
here because mmseg 1.2.2's get_flops.py passes both ``input_shape`` and
``inputs`` to mmengine >= 0.7.3, which rejects that.
"""

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules


class _TensorForward(torch.nn.Module):
    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs):
        return self.segmentor(inputs, None, mode='tensor')


def count_flops(cfg, shape=(1024, 2048), in_channels=3):
    """Return (GFLOPs, params) of ``cfg.model`` for a 1 x C x H x W input."""
    register_all_modules(init_default_scope=True)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    wrapper = _TensorForward(model).eval()
    inputs = torch.zeros(1, in_channels, *shape)
    with torch.no_grad():
        info = get_model_complexity_info(
            wrapper, inputs=(inputs,), show_table=False, show_arch=False
        )
    params = sum(p.numel() for p in model.parameters())
    return info['flops'] / 1e9, params
