"""Tiny K-Net configs and synthetic panoptic samples for the tests."""

import copy
import os.path as osp

import numpy as np
import torch
from common import REPO

R50_BASE = osp.join(
    REPO, 'configs', 'knet_panoptic', '_base_', 'knet-s3_r50_fpn_panoptic.py'
)
R50_1X = osp.join(
    REPO, 'configs', 'knet_panoptic', 'knet-s3_r50_fpn_1x_coco-panoptic.py'
)
NUM_THINGS, NUM_STUFF, NUM_PROPOSALS, CHANNELS = 2, 2, 6, 32


def tiny_model_cfg(**overrides):
    """A K-Net with the R50 config's structure, shrunk for CPU tests.

    ResNet-18 at 1/4 width, 32 channels, 6 thing kernels, 2 things + 2
    stuff classes, 3 stages.
    """
    from mmengine.config import Config

    from sfseg.official_checks.knet.toy_runs import shrink_knet

    base = Config.fromfile(R50_BASE)
    cfg = copy.deepcopy(base.model)
    cfg.backbone = dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
    )
    shrink_knet(
        cfg,
        CHANNELS,
        NUM_PROPOSALS,
        width=16,
        num_things=NUM_THINGS,
        num_stuff=NUM_STUFF,
        gn_groups=8,
        num_heads=4,
        feedforward_channels=2 * CHANNELS,
    )
    for key, value in overrides.items():
        _set(cfg, key, value)
    return cfg


def _set(cfg, dotted, value):
    *parents, last = dotted.split('.')
    node = cfg
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def make_sample(h=60, w=56, seed=0, with_things=True, img_id=0):
    """One image with 2 thing instances (labels 0, 1) and 2 stuff classes.

    Layout (rows x cols of a 60 x 56 image): stuff 2 top half, stuff 3
    bottom half; thing 0 a box in the top-left, thing 1 in the bottom
    right; a 4-pixel void band at the bottom.
    """
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData, PixelData

    rng = np.random.default_rng(seed)
    sem = np.full((h, w), 2, dtype=np.uint8)
    sem[h // 2 :] = 3
    sem[-4:] = 255
    masks = np.zeros((2, h, w), dtype=np.uint8)
    masks[0, 4:24, 4:20] = 1
    masks[1, 34:52, 30:50] = 1
    labels = [0, 1]
    for m, label in zip(masks, labels):
        sem[m.astype(bool)] = label
    if not with_things:
        masks, labels = masks[:0], []
    sample = DetDataSample(
        metainfo=dict(
            img_id=img_id,
            img_shape=(h, w),
            ori_shape=(h, w),
            scale_factor=(1.0, 1.0),
        )
    )
    sample.gt_instances = InstanceData(
        labels=torch.tensor(labels, dtype=torch.long),
        masks=BitmapMasks(masks, h, w),
        bboxes=torch.zeros((len(labels), 4)),
    )
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(sem)[None])
    img = torch.from_numpy(rng.integers(0, 255, (3, h, w), dtype=np.uint8))
    return img, sample


def build_det(cfg):
    """Build in mmdet's scope (module fixtures run outside the autouse one)."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)
