"""The class-uniform dataset wrapper (official ``datasets/uniform.py``)."""

import contextlib
import hashlib
import json
import logging
import os
import os.path as osp

import numpy as np
from mmengine.logging import print_log
from mmseg.registry import DATASETS
from torch.utils.data import Dataset

from .cache import exclusive, read_cache, write_cache
from .centroids import centroid_processes, compute_centroids


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
        found = read_cache(cache)
        if found is not None:
            return found
        with exclusive(cache + '.lock'):
            found = read_cache(cache)  # written while this one waited
            if found is None:
                found = self._compute(dataset, paths, cache)
                write_cache(cache, found)
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


def _build(dataset):
    return DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
