"""AMP training on CUDA through tools/train.py, as users run it.

An SFNet (R18) and an SFNet-Lite (R18) Cityscapes config, with their
model, loss, optimiser and schedule, train with ``--amp`` (fp16 autocast,
mmengine's dynamic loss scale) on the toy Cityscapes-layout images for 20
iterations with finite losses; the run resumed from its iteration-10
checkpoint goes on to 20 with finite losses and the loss scale restored.
Only the data is swapped: toy images, 256x512 crops, no class-uniform
sampling, no validation, no ImageNet weights (nothing is downloaded).
"""

import math
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
from common import REPO
from cuda_marker import CUDA
from toy_training import logged_losses

pytestmark = CUDA

TRAIN = osp.join(REPO, 'tools', 'train.py')
CONFIGS = {
    'sfnet_r18': 'sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet_lite_r18': 'sfnet_lite/'
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
}
TOY_DATA = """
_base_ = {config!r}
crop_size = (256, 512)
model = dict(
    data_preprocessor=dict(size=crop_size), backbone=dict(init_cfg=None)
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(1024, 512), ratio_range=(0.5, 1.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CityscapesDataset',
        data_root={root!r},
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'
        ),
        pipeline=train_pipeline,
    ),
)
train_cfg = dict(max_iters=20, val_interval=1000)
val_cfg = None
val_dataloader = None
val_evaluator = None
default_hooks = dict(
    checkpoint=dict(interval=10), logger=dict(interval=1)
)
"""


def toy_config(tmp_path, family, root):
    """``CONFIGS[family]`` training on the toy images under ``root``."""
    path = tmp_path / f'{family}_toy.py'
    config = osp.join(REPO, 'configs', CONFIGS[family])
    path.write_text(TOY_DATA.format(config=config, root=root))
    return str(path)


def train(config, work, *extra):
    """tools/train.py in a child process; ``(return code, output)``."""
    path = os.pathsep.join(filter(None, [REPO, os.environ.get('PYTHONPATH')]))
    proc = subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir', str(work), *extra],
        env=dict(os.environ, PYTHONPATH=path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize('family', list(CONFIGS))
def test_amp_training_and_resume(family, toy_city, tmp_path):
    import torch

    from sfseg.utils import load_checkpoint_file

    config = toy_config(tmp_path, family, toy_city)
    straight = tmp_path / 'straight'
    code, log = train(config, straight, '--amp')
    assert code == 0, log[-4000:]
    seen = logged_losses(log)
    assert sorted(seen) == list(range(1, 21)), log[-4000:]
    assert all(map(math.isfinite, seen.values())), seen
    ckpt = load_checkpoint_file(
        str(straight / 'iter_10.pth'), map_location='cpu'
    )
    scaler = ckpt['optimizer']['loss_scaler']  # AmpOptimWrapper's state
    assert math.isfinite(float(scaler['scale'])) and scaler['scale'] > 0
    assert torch.isfinite(ckpt['state_dict'][
        'decode_head.conv_seg.weight']).all()  # fmt: skip

    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(straight / 'iter_10.pth', resumed / 'iter_10.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_10.pth'))
    code, log = train(config, resumed, '--amp', '--resume')
    assert code == 0, log[-4000:]
    assert re.search(r'resumed epoch: \d+, iter: 10', log), log[-4000:]
    seen = logged_losses(log)
    assert sorted(seen) == list(range(11, 21)), log[-4000:]
    assert all(map(math.isfinite, seen.values())), seen
    last = load_checkpoint_file(
        str(resumed / 'iter_20.pth'), map_location='cpu'
    )
    assert 'loss_scaler' in last['optimizer']
