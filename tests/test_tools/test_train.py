"""End-to-end training through MMEngine's Runner, torchrun and mim."""

import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from common import REPO, free_port
from mmengine.config import Config

from sfseg.engine import enable_auto_scale_lr
from sfseg.utils import SFSegUserError

TOY_CFG = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
BIN = osp.dirname(sys.executable)


def run(cmd, cwd=None, env=None, timeout=600):
    env = dict(os.environ if env is None else env)
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd} failed:\n{out[-4000:]}'
    return out


def repo_env():
    # Run the repo's code, whatever is installed.
    return dict(os.environ, PYTHONPATH=REPO)


def toy_overrides(root, iters=2):
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]


STOCK_CFG = """
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['sfseg'], allow_failed_imports=False)
crop_size = (64, 128)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        _delete_=True,
        type='SFHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        channels=64,
        num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{root}', pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{root}', pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(
    checkpoint=dict(interval=2), logger=dict(interval=1))
"""


def test_stock_mmseg_config_with_sf_head_trains_resumes_and_loads(
    toy_city, tmp_path
):
    cfg_path = tmp_path / 'fpn_sfhead_toy.py'
    cfg_path.write_text(STOCK_CFG.replace('{root}', toy_city))
    work = tmp_path / 'work'
    train = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        str(cfg_path),
        '--work-dir',
        str(work),
    ]
    out = run(train, env=repo_env())
    assert 'decode.loss_ce' in out and 'mIoU' in out
    assert (work / 'iter_2.pth').is_file()

    out = run(
        train + ['--resume', '--cfg-options', 'train_cfg.max_iters=3'],
        env=repo_env(),
    )
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    assert 'Iter(train) [3/3]' in out
    ckpt = work / 'iter_3.pth'
    assert ckpt.is_file()

    from mmseg.apis import inference_model, init_model

    model = init_model(str(cfg_path), str(ckpt), device='cpu')
    assert type(model.decode_head).__name__ == 'SFHead'
    from sfseg.utils import load_checkpoint_file

    state = load_checkpoint_file(str(ckpt), map_location='cpu')
    key = 'decode_head.conv_seg.weight'
    assert torch.equal(model.state_dict()[key], state['state_dict'][key])
    assert model.dataset_meta['classes'][0] == 'road'
    img = glob.glob(osp.join(toy_city, 'leftImg8bit', 'test', '*', '*'))[0]
    result = inference_model(model, img)
    assert result.pred_sem_seg.data.shape == (1, 64, 128)


def test_two_process_gloo_training_with_dist_train_sh(toy_city, tmp_path):
    work = tmp_path / 'dist'
    env = repo_env()
    env.update(PYTHON=sys.executable, PORT=free_port())
    out = run(
        [
            'bash',
            osp.join(REPO, 'tools', 'dist_train.sh'),
            osp.join(REPO, 'configs', 'toy', TOY_CFG),
            '2',
            '--work-dir',
            str(work),
            '--cfg-options',
        ]
        + toy_overrides(toy_city),
        env=env,
    )
    assert 'Distributed training: True' in out
    assert re.search(r'world_size: 2|GPU number: 2', out), out[-3000:]
    assert 'Iter(train) [2/2]' in out
    assert (work / 'iter_2.pth').is_file()


def test_auto_scale_lr_scales_the_official_lr(toy_city, tmp_path):
    """The official Cityscapes recipe (8 GPUs x 2 images, lr 0.01) on one
    process with 2 images: ``--auto-scale-lr`` trains at 0.01 x 2 / 16."""
    config = 'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py'
    crop = '(64,128)'
    out = run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            config,
            '--auto-scale-lr',
            '--work-dir',
            str(tmp_path / 'work'),
            '--data-root',
            toy_city,
            '--cfg-options',
            f'train_dataloader.dataset.cache_dir={tmp_path / "cache"}',
            'train_dataloader.dataset.tile=32',
            f'train_dataloader.dataset.dataset.pipeline.2.crop_size={crop}',
            f'model.data_preprocessor.size={crop}',
            'norm_cfg.type=BN',
            'model.backbone.norm_cfg.type=BN',
            'model.backbone.init_cfg=None',  # from scratch on purpose
            'model.decode_head.norm_cfg.type=BN',
            'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'train_cfg.max_iters=1',
            'val_cfg=None',
            'val_dataloader=None',
            'val_evaluator=None',
            'default_hooks.checkpoint.interval=100',
            'default_hooks.logger.interval=1',
        ],
        env=repo_env(),
    )
    assert 'batch size of 16 and the current batch size is 2' in out
    # the official per-epoch poly (1000 epochs) is at (1 - 1/1000) of it
    lr = 0.01 * 2 / 16 * (1 - 1 / 1000)
    assert re.search(rf'Iter\(train\) \[1/1\] +lr: {lr:.4e}', out), lr


def test_auto_scale_lr_needs_a_base_batch():
    with pytest.raises(SFSegUserError, match='mine.py sets no auto_scale_lr'):
        enable_auto_scale_lr(Config(dict(model=dict())), 'mine.py')
    cfg = enable_auto_scale_lr(
        Config(dict(auto_scale_lr=dict(enable=False, base_batch_size=32))),
        'x.py',
    )
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=32)
