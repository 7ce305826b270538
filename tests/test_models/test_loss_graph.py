"""Every sfseg model family's training loss is one ``torch.compile``
graph: no graph break in the backbones, necks, heads, deep supervision,
OHEM or plain cross-entropy (what ``SFCompileHook`` compiles), and the
tensor-only loss terms equal mmseg's."""

import pytest
import torch
from common import CONFIGS
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData
from mmseg.models.losses import accuracy
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from sfseg.models.decode_heads.decode_head import pixel_accuracy

FAMILIES = [
    'sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet/sfnet-dsn_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet/sfnet_r50-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet/sfnet-dsn_df1_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet/sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet_lite/sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
    'sfnet_lite/sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024.py',
]


def training_model(config, plain_ce=False):
    cfg = Config.fromfile(f'{CONFIGS}/{config}')
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    if plain_ce:
        cfg.model.decode_head.loss_decode = dict(type='CrossEntropyLoss')
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    return model.train()


def batch(size=(64, 64), n=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, *size, generator=gen)
    samples = []
    for _ in range(n):
        label = torch.randint(0, 19, (1, *size), generator=gen)
        label[:, :4] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=size, pad_shape=size))
        samples.append(sample)
    return inputs, samples


@pytest.mark.parametrize(
    'config, plain_ce',
    [(c, False) for c in FAMILIES] + [(FAMILIES[0], True)],
)
def test_training_loss_is_one_graph(config, plain_ce):
    torch._dynamo.reset()
    model = training_model(config, plain_ce)
    inputs, samples = batch()
    explained = torch._dynamo.explain(model.loss)(inputs, samples)
    reasons = [str(b.reason) for b in explained.break_reasons]
    assert explained.graph_break_count == 0, reasons
    assert explained.graph_count == 1


def test_pixel_accuracy_is_mmsegs():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 9, 7, generator=gen)
    label = torch.randint(0, 5, (2, 9, 7), generator=gen)
    label[0, :3] = 255
    expected = accuracy(logits, label, ignore_index=255)
    assert torch.allclose(pixel_accuracy(logits, label, 255), expected)
    label[:] = 255  # nothing to count: 0, as mmseg
    expected = accuracy(logits, label, ignore_index=255)
    assert torch.allclose(pixel_accuracy(logits, label, 255), expected)


def test_loss_by_feat_is_mmsegs():
    """The head's loss terms with mmseg's ``BaseDecodeHead.loss_by_feat``
    (the method it replaces) on the same logits."""
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead

    model = training_model(FAMILIES[1])
    head = model.decode_head
    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(2, 19, 16, 16, generator=gen)
    _, samples = batch()
    ours = head.loss_by_feat(logits, samples)
    mmseg = BaseDecodeHead.loss_by_feat(head, logits, samples)
    assert ours.keys() == mmseg.keys()
    for key in ours:
        if key.endswith('acc_seg'):  # float32 instead of a Python float
            assert torch.allclose(ours[key], mmseg[key]), key
        else:
            assert torch.equal(ours[key], mmseg[key]), key
