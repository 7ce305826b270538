"""What the benchmark times: segmentors of configs with seeded random
(or given) weights, their input images and int8 calibration arrays, and
the figures quoted for them (metafiles, mmseg's real-time peers)."""

import os.path as osp

import numpy as np
import torch
import yaml
from mmengine.config import Config
from mmseg.registry import MODELS

from sfseg.deploy import network_inputs
from sfseg.utils import load_weights_strictly

# mmseg's real-time models benchmarked beside sfseg (``--peers``):
# name -> config path under mmseg's own configs.
PEERS = {
    'BiSeNetV1-R18': 'bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_'
    'cityscapes-1024x1024.py',
    'STDC1': 'stdc/stdc1_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'STDC2': 'stdc/stdc2_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'DDRNet-23-slim': 'ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_'
    'cityscapes-1024x1024.py',
    'PIDNet-S': 'pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py',
    'Fast-SCNN': 'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py',
}


# Paper GPU speed (quoted, not measured): Table 3 TITAN-RTX + TensorRT FPS
# at 1024x2048, and the mmseg model-zoo FPS of the peers.
QUOTED_FPS = {
    'sfnet_df1_8xb2-56k_cityscapes-1024x1024': '134.5 (TITAN-RTX, TRT)',
    'sfnet_df2_8xb2-56k_cityscapes-1024x1024': '103.1 (TITAN-RTX, TRT)',
    'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024': '33.3 (TITAN-RTX, TRT);'
    ' 18.1 (1080Ti)',
    'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024': '97.1 (TITAN-RTX, TRT)',
    'sfnet_stdc2_8xb2-56k_cityscapes-1024x1024': '79.9 (TITAN-RTX, TRT)',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024': '48.9 (TITAN-RTX,'
    ' TRT); 26.5 (1080Ti)',
    'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024': '119.1 (TITAN-RTX,'
    ' TRT)',
    'sfnet-lite_stdc2_8xb2-186k_cityscapes-1024x1024': '92.3 (TITAN-RTX, TRT)',
    'BiSeNetV1-R18': '31.77 (V100, mmseg)',
    'STDC1': '23.06 (V100, mmseg)',
    'STDC2': '23.71 (V100, mmseg)',
    'DDRNet-23-slim': '85.85 (A100, mmseg)',
    'PIDNet-S': '80.82 (A100, mmseg)',
    'Fast-SCNN': '56.45 (V100, mmseg)',
}


def build_segmentor(config, checkpoint=None, seed=0):
    """``(model, cfg)``: the segmentor of ``config`` (a file path) as
    built, in train mode, on the CPU.

    Pretrained and ``init_cfg`` weights are dropped, so nothing is read
    from disk: the weights are the initialisers' draws after
    ``torch.manual_seed(seed)`` (the same for every call), or
    ``checkpoint``'s, loaded strictly (every key and shape must match).
    """
    cfg = Config.fromfile(config)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_weights_strictly(model, checkpoint)
    return model, cfg


def benchmark_inputs(model, shape, image=None, calibration=(), calib_count=4):
    """``(1 x 3 x H x W input tensor, int8 calibration arrays)`` at
    ``shape`` = (H, W).

    ``image`` None: standard normal noise, calibrated on ``calib_count``
    more noise arrays. Otherwise ``image`` (an RGB uint8 h x w x 3 array,
    or an image file) and the RGB ``calibration`` images are resized to
    ``shape`` and normalised by ``model``'s data preprocessor (benchmark.py
    draws them with :func:`sfseg.datasets.toy.driving.draw_scene`). The
    calibration arrays are 1 x 3 x H x W float32.
    """
    if image is None:
        gen = torch.Generator().manual_seed(0)
        noise = np.random.default_rng(0)
        calib = [
            noise.standard_normal((1, 3, *shape), dtype=np.float32)
            for _ in range(calib_count)
        ]
        return torch.randn(1, 3, *shape, generator=gen), calib
    import mmcv

    def normalise(rgb):
        if rgb.shape[:2] != tuple(shape):
            rgb = mmcv.imresize(rgb, tuple(shape[::-1]))
        return network_inputs(model, [rgb[..., ::-1]])[0]

    if isinstance(image, str):
        image = mmcv.imread(image, channel_order='rgb')
    calib = [normalise(rgb) for rgb in calibration]
    return torch.from_numpy(normalise(image)), calib


def quoted_miou(config_path):
    """mIoU quoted in the config folder's ``metafile.yaml``: e.g.
    ``'78.3 (val); 78.1 (test)'``, or ``'-'``."""
    name = osp.splitext(osp.basename(config_path))[0]
    meta = osp.join(osp.dirname(config_path), 'metafile.yaml')
    if not osp.isfile(meta):
        return '-'
    with open(meta) as f:
        models = yaml.safe_load(f).get('Models', [])
    for model in models:
        if model['Name'] != name:
            continue
        results = model.get('Results') or []
        if isinstance(results, dict):  # mmseg metafiles use one dict
            results = [results]
        parts = []
        for r in results:
            miou = (r.get('Metrics') or {}).get('mIoU')
            if miou is not None:
                split = str(r.get('Dataset', '')).split()
                tag = split[-1] if split else '?'
                tag = 'val' if tag == 'Cityscapes' else tag  # mmseg: val
                parts.append(f'{miou} ({tag})')
        return '; '.join(parts) or '-'
    return '-'


def mmseg_config(rel):
    """Path of mmseg's own config ``rel`` (e.g. a :data:`PEERS` value)."""
    import mmseg

    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', rel)
