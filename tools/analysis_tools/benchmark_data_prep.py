"""Time data preparation for training: centroids, dataset start, pipeline.

    python tools/analysis_tools/benchmark_data_prep.py \\
        [--labels 200] [--draws 15] [--official-root ~/src/SFSegNets]

On generated full-size (1024 x 2048) Cityscapes-layout images and labels
(blocky class maps, 15-19 classes per label, some ignore):

1. class-centroid cache build (``ClassUniformDataset``'s computation) with
   1 process and with all of them: seconds per 1000 labels and the
   extrapolation to Cityscapes (2975) and UDS (35k training labels);
2. dataset start (``ClassUniformDataset`` of the Cityscapes config):
   cold (empty cache, all processes) and warm (cache read);
3. the per-sample training pipeline of the Cityscapes config, one thread,
   sfseg and (with ``--official-root``) the official transforms
   interleaved on the same image, median ms per sample and per transform,
   and each sfseg transform's max abs difference from the official one
   under the same random draws.
"""

import argparse
import os
import os.path as osp
import random
import shutil
import tempfile
import time
from unittest import mock

import numpy as np
from PIL import Image

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
CITY_CFG = osp.join(
    REPO, 'configs', 'sfnet', 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
)
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


def quiet_progress():
    """mmengine's progress bars, written to /dev/null (they print every
    label)."""
    import functools

    from sfseg.datasets import class_uniform

    sink = open(os.devnull, 'w')
    return mock.patch.multiple(
        class_uniform,
        track_progress=functools.partial(
            class_uniform.track_progress, file=sink
        ),
        track_parallel_progress=functools.partial(
            class_uniform.track_parallel_progress, file=sink
        ),
    )


def time_centroids(paths, nproc):
    from sfseg.datasets.class_uniform import compute_centroids

    tasks = [(i, p, 19, 1024, 255) for i, p in enumerate(paths)]
    start = time.perf_counter()
    with quiet_progress():
        compute_centroids(tasks, nproc)
    return time.perf_counter() - start


def dataset_cfg(root, cache):
    from mmengine.config import Config

    cfg = Config.fromfile(CITY_CFG)
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
    from sfseg.testing.official_augmentation import (
        official_transforms,
        sfseg_transforms,
    )
    from sfseg.testing.same_draws import same_draw_differences

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--labels', type=int, default=200)
    parser.add_argument(
        '--size', type=int, nargs=2, default=[1024, 2048], help='H W'
    )
    parser.add_argument('--draws', type=int, default=15)
    parser.add_argument('--nproc', type=int, default=os.cpu_count())
    parser.add_argument(
        '--official-root', help='a clone of lxtGH/SFSegNets (pipeline)'
    )
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope

    import sfseg  # noqa: F401  (registers the transforms)
    from sfseg.acceleration.cpu_info import describe

    init_default_scope('mmseg')
    print(f'CPU: {describe()}, {os.cpu_count()} cores')
    work = tempfile.mkdtemp(prefix='sfseg_data_prep_')
    try:
        h, w = args.size
        print(f'generating {args.labels} images + labels of {h}x{w} ...')
        make_data(work, args.labels, (h, w))
        paths = label_paths(work)
        one = time_centroids(paths, 1)
        many = time_centroids(paths, args.nproc)
        per_k = {n: t / len(paths) * 1000 for n, t in ((1, one), (0, many))}
        print('\n1. centroid cache build (s per 1000 labels)')
        print(f'   1 process: {per_k[1]:.1f}   {args.nproc} processes: '
              f'{per_k[0]:.1f}   ratio {many / one:.2f}')  # fmt: skip
        for name, count in EXTRAPOLATE:
            print(
                f'   {name} ({count} labels): {per_k[1] * count / 60e3:.1f} '
                f'min on 1 process, {per_k[0] * count / 60e3:.1f} min on '
                f'{args.nproc}'
            )
        cold, warm = time_dataset_start(work, osp.join(work, 'cache'))
        print('\n2. dataset start (ClassUniformDataset, Cityscapes config)')
        print(f'   cold {cold:.2f} s ({cold / len(paths) * 1000:.1f} s per '
              f'1000 labels), warm {warm:.3f} s')  # fmt: skip
        totals, per, diffs = time_pipeline(
            work, args.official_root, args.draws
        )
        print('\n3. training pipeline, one thread, ms per sample (median)')
        line = f'   sfseg {ms(totals["sfseg"]):.1f}'
        if totals['official']:
            ratio = ms(totals['sfseg']) / ms(totals['official'])
            line += (
                f'   official {ms(totals["official"]):.1f}   sfseg / '
                f'official {ratio:.2f}'
            )
        print(line)
        for side in ('sfseg', 'official'):
            for name, values in per[side].items():
                print(f'   {side:8s} {name:22s} {ms(values):7.1f}')
        if diffs:
            print('   max abs difference from the official, same draws:')
            for key in diffs[0]:
                values = [d[key] for d in diffs[1:] or diffs]
                print(f'   {key:30s} {max(values)}')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
