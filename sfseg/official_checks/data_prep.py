"""Timing data preparation for training against the official code, the library
behind ``tools/analysis_tools/benchmark_data_prep.py``: generated full-size
Cityscapes-layout images and labels (:func:`make_data`), the centroid cache
build (:func:`time_centroids`), the class-uniform dataset's start
(:func:`time_dataset_start`) and the per-sample pipeline, sfseg's and the
official one on the same draws (:func:`time_pipeline`)."""

import contextlib
import os
import os.path as osp
import random
import time

import numpy as np
from PIL import Image

from sfseg.utils import resolve_config

CITY_CFG = 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
EXTRAPOLATE = (('Cityscapes', 2975), ('UDS', 35000))


def make_data(root, num, size=(1024, 2048), seed=0):
    """Cityscapes-layout images + train-id labels (blocky class maps)."""
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'leftImg8bit', 'train', 'gen')
    label_dir = osp.join(root, 'gtFine', 'train', 'gen')
    os.makedirs(img_dir)
    os.makedirs(label_dir)
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    h, w = size
    for i in range(num):
        cell = max(8, h // 8)
        cells = rng.integers(0, 19, (h // cell, w // cell), dtype=np.uint8)
        cells[rng.random(cells.shape) < 0.05] = 255
        label = np.kron(cells, np.ones((cell, cell), np.uint8))
        # finer structure: small objects of random classes
        for _ in range(40):
            y, x = rng.integers(0, h - 64), rng.integers(0, w - 64)
            dy, dx = rng.integers(8, 64, 2)
            label[y : y + dy, x : x + dx] = rng.integers(0, 19)
        noise = rng.integers(0, 24, (h, w, 3), dtype=np.uint8)
        image = colours[label] // 2 + noise
        name = f'gen_{i:06d}_000019'
        Image.fromarray(image).save(
            osp.join(img_dir, f'{name}_leftImg8bit.png'), compress_level=1
        )
        Image.fromarray(label).save(
            osp.join(label_dir, f'{name}_gtFine_labelTrainIds.png'),
            compress_level=1,
        )


def label_paths(root):
    label_dir = osp.join(root, 'gtFine', 'train', 'gen')
    return [osp.join(label_dir, n) for n in sorted(os.listdir(label_dir))]


@contextlib.contextmanager
def quiet_progress():
    """mmengine's progress bars (they print every label) sent nowhere."""
    with open(os.devnull, 'w') as sink, contextlib.redirect_stdout(sink):
        yield


def time_centroids(paths, nproc):
    from sfseg.datasets.class_uniform import compute_centroids

    tasks = [(i, p, 19, 1024, 255) for i, p in enumerate(paths)]
    start = time.perf_counter()
    with quiet_progress():
        compute_centroids(tasks, nproc)
    return time.perf_counter() - start


def dataset_cfg(root, cache):
    from mmengine.config import Config

    cfg = Config.fromfile(resolve_config(CITY_CFG))
    ds = cfg.train_dataloader.dataset
    ds.cache_dir = cache
    ds.dataset.data_root = root
    return cfg, ds


def time_dataset_start(root, cache):
    from mmseg.registry import DATASETS

    _, ds = dataset_cfg(root, cache)
    times = []
    for _ in range(2):  # cold (empty cache), then warm
        start = time.perf_counter()
        with quiet_progress():
            DATASETS.build(ds)
        times.append(time.perf_counter() - start)
    return times


# ------------------------------------------------------------ pipeline
def run_sfseg(steps, bgr, label, centroid, times):
    results = dict(
        img=bgr.copy(),
        gt_seg_map=label.copy(),
        seg_fields=['gt_seg_map'],
        img_shape=label.shape,
        ori_shape=label.shape,
        centroid=centroid,
    )
    for step in steps:
        start = time.perf_counter()
        results = step(results)
        times.setdefault(type(step).__name__, []).append(
            time.perf_counter() - start
        )
    return results


def run_official(joint, appearance, rgb, label, centroid, times):
    img, mask = Image.fromarray(rgb), Image.fromarray(label)
    for i, t in enumerate(joint + appearance):
        start = time.perf_counter()
        if i == 0:
            img, mask = t(img, mask, centroid)
        elif i < len(joint):
            img, mask = t(img, mask)
        else:
            img = t(img)
        times.setdefault(type(t).__name__, []).append(
            time.perf_counter() - start
        )
    return np.asarray(img), np.asarray(mask)


def time_pipeline(root, official_root, draws):
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    from sfseg.official_checks.official_augmentation import (
        official_transforms,
        sfseg_transforms,
    )
    from sfseg.official_checks.same_draws import same_draw_differences

    cfg, _ = dataset_cfg(root, None)
    steps = sfseg_transforms(cfg)
    path = osp.join(root, 'leftImg8bit', 'train', 'gen')
    name = sorted(os.listdir(path))[0]
    rgb = np.asarray(Image.open(osp.join(path, name)).convert('RGB'))
    label = np.asarray(Image.open(label_paths(root)[0]))
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    joint = appearance = None
    if official_root:
        joint, appearance = official_transforms(official_root)
    totals = {'sfseg': [], 'official': []}
    per = {'sfseg': {}, 'official': {}}
    diffs = []
    for i in range(draws + 1):  # the first round warms up
        h, w = label.shape
        centroid = ((w // 2 + 37 * i) % w, h // 2) if i % 2 else None
        seed = 1000 + i
        random.seed(seed)
        np.random.seed(seed)
        start = time.perf_counter()
        run_sfseg(steps, bgr, label, centroid, per['sfseg'])
        totals['sfseg'].append(time.perf_counter() - start)
        if joint is not None:
            random.seed(seed)
            np.random.seed(seed)
            start = time.perf_counter()
            run_official(joint, appearance, rgb, label, centroid,
                         per['official'])  # fmt: skip
            totals['official'].append(time.perf_counter() - start)
            diffs.append(
                same_draw_differences(
                    joint, appearance, steps, rgb, label, centroid
                )
            )
    return totals, per, diffs


def ms(values):
    return 1000 * float(np.median(values[1:] if len(values) > 1 else values))
