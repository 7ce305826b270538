"""Class-uniform sampling (official ``datasets/uniform.py``), mmseg style.

``ClassUniformDataset`` wraps any mmseg dataset: a ``uniform_ratio`` share
of the samples (official: 50 %) picks a class uniformly among the classes
that have centroids, then one of that class's centroids, and hands its
``(x, y)`` to the pipeline as ``results['centroid']``; the rest are plain
random images. ``SFCentroidCrop`` (a drop-in for mmseg's ``RandomCrop``)
then places the crop so that the (rescaled) centroid lies inside it.

Centroids follow the official extraction: labels are cut into
non-overlapping full ``tile`` x ``tile`` tiles (remainders ignored), and for
every class present in a tile its centre of mass (truncated to int) is
recorded. They are computed once and cached as JSON. Coarse boosting
(official ``--coarse_boost_classes``) appends the centroids of a second,
coarsely labelled set for a few rare classes.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import os.path as osp
import socket

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import DATA_SAMPLERS, DATASETS, TRANSFORMS
from PIL import Image
from torch.utils.data import Dataset


def label_centroids(label, num_classes, tile, ignore_index=255):
    """``{class: [(x, y), ...]}`` for one label map (official tiling).

    The official code takes ``ndimage.center_of_mass`` of one mask per
    class and tile. Here two ``bincount`` passes count every class per
    (image row, tile column) and per (image column, tile row); the
    per-tile pixel counts and coordinate sums follow from those (5x
    faster at 1024x2048). The sums are of integers, exact in float64, so
    the truncated centres are the same, in the same order.
    """
    rows, cols = label.shape[0] // tile, label.shape[1] // tile
    if not rows or not cols:
        return {}
    # ids >= num_classes (the ignore index among them) share one last bin
    label = np.minimum(label[: rows * tile, : cols * tile], num_classes)
    span = num_classes + 1
    h, w = label.shape
    col_bin = (np.arange(w) // tile * span).astype(np.int64)
    row_bin = (np.arange(h) // tile * span).astype(np.int64)
    key = (np.arange(h) * (cols * span))[:, None] + col_bin + label
    per_row = np.bincount(key.ravel(), minlength=h * cols * span)
    per_row = per_row.reshape(rows, tile, cols, span)
    key = (np.arange(w) * (rows * span))[None, :] + row_bin[:, None] + label
    per_col = np.bincount(key.ravel(), minlength=w * rows * span)
    per_col = per_col.reshape(cols, tile, rows, span)
    offsets = np.arange(tile, dtype=np.float64)
    counts = per_row.sum(1)  # rows x cols x span
    sum_y = np.einsum('atcs,t->acs', per_row, offsets)
    sum_x = np.einsum('ctas,t->acs', per_col, offsets)
    out = {}
    for k in np.flatnonzero(counts[..., :num_classes]):
        index, cls = divmod(int(k), num_classes)
        if cls == ignore_index:
            continue
        ty, tx = divmod(index, cols)
        n = counts[ty, tx, cls]
        cx = int(sum_x[ty, tx, cls] / n) + tx * tile
        cy = int(sum_y[ty, tx, cls] / n) + ty * tile
        out.setdefault(cls, []).append((cx, cy))
    return out


def _read_label(path):
    with Image.open(path) as img:
        return np.asarray(img)


def _centroids_of(args):
    index, path, num_classes, tile, ignore_index = args
    found = label_centroids(_read_label(path), num_classes, tile, ignore_index)
    return index, found


def centroid_processes(num_labels):
    """Processes that compute the centroids of ``num_labels`` labels: every
    core this process may use, but one for small sets (a pool costs more
    than it saves there)."""
    if num_labels <= 50:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, num_labels)


def compute_centroids(tasks, nproc):
    """:func:`_centroids_of` over ``tasks`` on ``nproc`` processes, with a
    progress bar for large sets."""
    if len(tasks) <= 50:
        return [_centroids_of(t) for t in tasks]
    if nproc <= 1:
        return track_progress(_centroids_of, tasks)
    return track_parallel_progress(
        _centroids_of, tasks, nproc, chunksize=max(1, len(tasks) // nproc // 8)
    )


@contextlib.contextmanager
def _exclusive(path):
    """Hold an exclusive lock on ``path`` (created if needed). Where the
    file system has no locks, nothing is held: concurrent processes then
    compute the same cache, each written atomically."""
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        f = open(path, 'a')
    except OSError as err:
        raise OSError(
            f'ClassUniformDataset: cannot write the centroid cache next to '
            f'{path} ({err}); set cache_dir to a writable folder'
        ) from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print_log(
                'ClassUniformDataset: another process is computing the '
                f'centroids (lock {path}); waiting for it',
                logger='current',
            )
            fcntl.flock(f, fcntl.LOCK_EX)
        except OSError:  # e.g. ENOLCK on some network file systems
            pass
        yield  # closing the file releases the lock


@DATASETS.register_module()
class ClassUniformDataset(Dataset):
    """Mix class-centred samples into any segmentation dataset.

    Args:
        dataset (dict | BaseDataset): the wrapped dataset (its pipeline is
            used; put ``SFCentroidCrop`` instead of ``RandomCrop`` in it).
        uniform_ratio (float): share of class-centred samples (0.5).
        tile (int): centroid tile size (official: 1024).
        cache_dir (str, optional): where centroid JSONs are cached (never
            inside the dataset; default ``~/.cache/sfseg/centroids``).
        boost_dataset (dict | BaseDataset, optional): coarse boosting
            (official ``--coarse_boost_classes``): a second labelled set,
            e.g. Cityscapes ``train_extra`` with coarse labels, whose
            centroids of ``boost_classes`` are appended to the main ones.
            A class-centred sample that draws such a centroid loads that
            image and its (coarse) label through the main pipeline; boost
            images never enter the random share.
        boost_classes (Sequence[int]): classes boosted (official: truck,
            bus, train, wall, rider, motorcycle, fence = 14, 15, 16, 3, 12,
            17, 4).
        seed (int): base seed of the class-centred draws. Use
            :class:`SFInfiniteSampler` as the sampler, so that they change
            from one pass over the data to the next.
    """

    def __init__(
        self,
        dataset,
        uniform_ratio=0.5,
        tile=1024,
        cache_dir=None,
        boost_dataset=None,
        boost_classes=(),
        seed=0,
        lazy_init=False,
    ):
        if not 0 <= uniform_ratio <= 1:
            raise ValueError(
                f'uniform_ratio must be in [0, 1], got {uniform_ratio}'
            )
        if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
            raise ValueError(
                f'ClassUniformDataset: tile must be a positive integer, '
                f'got {tile!r}'
            )
        self.dataset = _build(dataset)
        self.boost_dataset = (
            None if boost_dataset is None else _build(boost_dataset)
        )
        if boost_classes and self.boost_dataset is None:
            raise ValueError('boost_classes given without a boost_dataset')
        self.uniform_ratio = uniform_ratio
        self.tile = tile
        self.cache_dir = osp.expanduser(
            cache_dir or osp.join('~', '.cache', 'sfseg', 'centroids')
        )
        self.boost_classes = [int(c) for c in boost_classes]
        self.seed = seed
        self._metainfo = self.dataset.metainfo
        num_classes = len(self._metainfo['classes'])
        bad = [c for c in self.boost_classes if not 0 <= c < num_classes]
        if bad:
            raise ValueError(
                f'boost_classes {bad} outside 0..{num_classes - 1}'
            )
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self):
        return dict(self._metainfo)

    def full_init(self):
        if self._fully_initialized:
            return
        # centroid entries: (dataset 0 main / 1 boost, index, x, y)
        self.centroids = {
            cls: [(0, *item) for item in items]
            for cls, items in self._centroids_of(self.dataset).items()
        }
        self.num_boost_centroids = 0
        if self.boost_dataset is not None:
            boosted = self._centroids_of(self.boost_dataset)
            for cls in self.boost_classes:
                items = [(1, *item) for item in boosted.get(cls, [])]
                self.centroids.setdefault(cls, []).extend(items)
                self.num_boost_centroids += len(items)
        self.classes_with_centroids = sorted(
            c for c, items in self.centroids.items() if items
        )
        if self.uniform_ratio > 0 and not self.classes_with_centroids:
            # the official BDD Lite-STDC script does this (720p images
            # have no 1024 tile): every sample is then a random one
            print_log(
                f'ClassUniformDataset: no label has a full {self.tile}x'
                f'{self.tile} tile, so there are no class centroids and '
                f'uniform_ratio={self.uniform_ratio} has no effect',
                logger='current',
                level=logging.WARNING,
            )
        self._fully_initialized = True

    def _cache_path(self, paths):
        key = hashlib.sha1(
            json.dumps([paths, self.tile]).encode()
        ).hexdigest()[:16]
        return osp.join(
            self.cache_dir, f'centroids_tile{self.tile}_{key}.json'
        )

    def _centroids_of(self, dataset):
        """``{class: [(index, x, y), ...]}`` for ``dataset``.

        Computed once per label set: every process looks for the cache
        first; the first to take the cache's lock computes it (on all its
        cores) and writes it atomically, the others (other ranks of a
        distributed job, other jobs) wait for the lock and read it.
        """
        dataset.full_init()
        paths = [
            dataset.get_data_info(i)['seg_map_path']
            for i in range(len(dataset))
        ]
        cache = self._cache_path(paths)
        found = _read_cache(cache)
        if found is not None:
            return found
        with _exclusive(cache + '.lock'):
            found = _read_cache(cache)  # written while this one waited
            if found is None:
                found = self._compute(dataset, paths, cache)
                _write_cache(cache, found)
                # later processes read the cache without locking; those
                # waiting on the removed file re-read the cache above
                with contextlib.suppress(FileNotFoundError):
                    os.remove(cache + '.lock')
        return found

    def _compute(self, dataset, paths, cache):
        num_classes = len(self._metainfo['classes'])
        ignore = getattr(dataset, 'ignore_index', 255)
        tasks = [
            (i, p, num_classes, self.tile, ignore) for i, p in enumerate(paths)
        ]
        nproc = centroid_processes(len(tasks))
        print_log(
            f'ClassUniformDataset: computing the centroids of {len(tasks)} '
            f'labels ({self.tile}x{self.tile} tiles) on {nproc} processes '
            f'into {cache}',
            logger='current',
        )
        centroids = {}
        for index, found in compute_centroids(tasks, nproc):
            for cls, points in found.items():
                centroids.setdefault(cls, []).extend(
                    (index, x, y) for x, y in points
                )
        return centroids

    def __len__(self):
        return len(self.dataset)

    def sample_of(self, i):
        """``(dataset, index, centroid or None, class or None)`` of the
        sampler's index ``i``: a function of (``seed``, pass, image index),
        where ``i = pass * len(self) + image index``
        (:class:`SFInfiniteSampler` counts the passes; other samplers give
        pass 0). The sampler shards (pass, index) pairs over the ranks, so
        every rank samples differently, and the samples do not depend on
        the number of workers or GPUs; a resumed run, which replays the
        sampler, draws what an uninterrupted one does."""
        rounds, idx = divmod(int(i), len(self))
        rng = np.random.default_rng([self.seed, rounds, idx])
        return self.draw(idx, rng)

    def draw(self, idx, rng):
        """``(dataset, index, centroid or None, class or None)``: with
        probability ``uniform_ratio`` a class-centred sample (a class with
        centroids, then one of its centroids, uniformly), else image
        ``idx`` as the sampler chose it."""
        if self.classes_with_centroids and rng.random() < self.uniform_ratio:
            cls = self.classes_with_centroids[
                rng.integers(len(self.classes_with_centroids))
            ]
            which, index, x, y = self.centroids[cls][
                rng.integers(len(self.centroids[cls]))
            ]
            source = self.boost_dataset if which else self.dataset
            return source, int(index), (int(x), int(y)), cls
        return self.dataset, int(idx), None, None

    def __getitem__(self, i):
        if not self._fully_initialized:
            self.full_init()
        source, index, centroid, cls = self.sample_of(i)
        info = source.get_data_info(index)
        info['centroid'] = centroid
        info['centroid_class'] = cls
        return self._pipeline_of(index if source is self.dataset else None)(
            info
        )

    def _pipeline_of(self, index):
        """The main pipeline; for a ``ConcatDataset`` (e.g. UDS) that of
        the part holding ``index`` (boost samples use the first part's)."""
        if hasattr(self.dataset, 'pipeline'):
            return self.dataset.pipeline
        part = (
            0 if index is None else self.dataset._get_ori_dataset_idx(index)[0]
        )
        return self.dataset.datasets[part].pipeline

    def get_data_info(self, idx):
        return self.dataset.get_data_info(idx)


def _read_cache(cache):
    """The centroids stored in ``cache``, or None if it does not exist."""
    if not osp.isfile(cache):
        return None
    try:
        with open(cache) as f:
            stored = json.load(f)
        return {
            int(c): [tuple(v) for v in items] for c, items in stored.items()
        }
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(
            f'ClassUniformDataset: centroid cache {cache} is unreadable '
            f'({err}); delete it to recompute it'
        ) from None


def _write_cache(cache, centroids):
    """Write ``cache`` atomically, through a temporary file no other
    process writes (so concurrent writers never trip over each other)."""
    partial = f'{cache}.{socket.gethostname()}.{os.getpid()}.partial'
    try:
        with open(partial, 'w') as f:
            json.dump({str(c): v for c, v in centroids.items()}, f)
        os.replace(partial, cache)
    except OSError as err:
        if osp.exists(partial):
            os.remove(partial)
        raise OSError(
            f'ClassUniformDataset: cannot write the centroid cache '
            f'{cache} ({err}); set cache_dir to a writable folder'
        ) from None


@DATA_SAMPLERS.register_module()
class SFInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same image order, same sharding over
    ranks) that also tells a :class:`ClassUniformDataset` which pass over
    the data an index belongs to: it yields ``pass * len(dataset) +
    index``, so that the dataset's class-centred draws change from pass to
    pass while staying a function of the sampler's position."""

    def __init__(self, dataset, shuffle=True, seed=None):
        if not hasattr(dataset, 'sample_of'):
            raise TypeError(
                f'SFInfiniteSampler feeds ClassUniformDataset, got '
                f'{type(dataset).__name__}; use InfiniteSampler'
            )
        super().__init__(dataset, shuffle, seed)

    def _infinite_indices(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        start = 0
        while True:
            if self.shuffle:
                order = torch.randperm(self.size, generator=generator)
            else:
                order = torch.arange(self.size)
            yield from (order + start).tolist()
            start += self.size


def _build(dataset):
    return DATASETS.build(dataset) if isinstance(dataset, dict) else dataset


@TRANSFORMS.register_module()
class SFCentroidCrop(RandomCrop):
    """The crop of the official ``RandomSizeAndCrop``: pad, then crop
    uniformly or around ``results['centroid']``.

    - Padding (``pad_to_crop``, official): an image smaller than the crop
      is padded on *both* sides by ``(crop - size) // 2 + 1`` pixels,
      image with ``pad_val`` (0, black before normalisation), labels with
      ``seg_pad_val`` (the ignore index).
    - Without a centroid the window is uniform over the image (mmseg's
      ``RandomCrop``). With one, the origin is ``randint(c - crop, c)``
      (both ends included) clipped to the image, as the official code
      draws it: the centroid is mostly inside the crop, and crops of
      centroids near a border pile up at that border. The centroid comes
      from ``SFRandomRescale`` (``crop_centroid``, official ``int(c * s)``)
      or, after another resize, ``centroid`` times ``scale_factor``; like
      the official code it is not shifted by the padding.
    """

    def __init__(
        self,
        crop_size,
        cat_max_ratio=1.0,
        ignore_index=255,
        pad_to_crop=True,
        pad_val=0,
        seg_pad_val=255,
    ):
        super().__init__(crop_size, cat_max_ratio, ignore_index)
        self.pad_to_crop = pad_to_crop
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _pad(self, results):
        h, w = results['img'].shape[:2]
        th, tw = self.crop_size
        ph = (th - h) // 2 + 1 if th > h else 0
        pw = (tw - w) // 2 + 1 if tw > w else 0
        if not (ph or pw):
            return
        img = results['img']
        spec = ((ph, ph), (pw, pw)) + ((0, 0),) * (img.ndim - 2)
        results['img'] = np.pad(img, spec, constant_values=self.pad_val)
        for key in results.get('seg_fields', []):
            results[key] = np.pad(
                results[key],
                ((ph, ph), (pw, pw)),
                constant_values=self.seg_pad_val,
            )
        results['img_shape'] = results['img'].shape[:2]

    def transform(self, results):
        if self.pad_to_crop:
            self._pad(results)
        h, w = results['img'].shape[:2]
        if h < self.crop_size[0] or w < self.crop_size[1]:
            raise ValueError(
                f'SFCentroidCrop: crop_size {tuple(self.crop_size)} is larger '
                f'than the image ({h}, {w}) of {results.get("img_path")}; '
                'use pad_to_crop=True (official) or a smaller crop'
            )
        return super().transform(results)

    def _centroid(self, results):
        if results.get('crop_centroid') is not None:
            return results['crop_centroid']
        centroid = results.get('centroid')
        if centroid is None:
            return None
        sx, sy = results.get('scale_factor', (1.0, 1.0))
        return int(centroid[0] * sx), int(centroid[1] * sy)

    def crop_bbox(self, results):
        centroid = self._centroid(results)
        if centroid is None:
            return super().crop_bbox(results)
        h, w = results['img'].shape[:2]
        ch, cw = self.crop_size
        cx, cy = centroid
        x1 = min(max(np.random.randint(cx - cw, cx + 1), 0), w - cw)
        y1 = min(max(np.random.randint(cy - ch, cy + 1), 0), h - ch)
        return y1, y1 + ch, x1, x1 + cw
