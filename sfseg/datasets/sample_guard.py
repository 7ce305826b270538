"""Bad samples met during training: named, or replaced deterministically.

``check_files=True`` reads every file when a dataset loads its list; a
file can still break later (a sync job, a disk error), and long lists are
usually not checked. Then mmcv's ``LoadImageFromFile`` fails inside a
data-loader worker (with ``ignore_empty=True`` mmengine re-draws with
``np.random``), and a label id outside the classes reaches the loss as
"index out of bounds" naming no file.

:class:`SFSampleGuard` wraps a training set. The loading transforms of
every pipeline (up to the one that yields ``gt_seg_map``) run under a guard
that names the sample's files and index when they fail, and the loaded
label is checked against ``{0..C-1, ignore}``. ``on_bad='skip'`` replaces
a bad sample by another index drawn from ``(seed, index, attempt)``: the
same in every run and in a resumed one, which replays the sampler. It
warns once per file and stops after ``max_bad`` distinct bad files met by
one loader process (each data-loader worker counts its own).
"""

import numpy as np
from mmengine.dataset import Compose
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from sfseg.utils.user_errors import SFSegUserError

from .checks import (
    ON_BAD,
    DatasetInputError,
    describe_ids,
    out_of_range_ids,
)
from .wrappers import wrapped_datasets


class BadSampleError(SFSegUserError, DatasetInputError):
    """A training sample cannot be loaded or has labels outside the
    classes; the message names its files and index."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


def _sample_name(results):
    img = results.get('img_path', '?')
    seg = results.get('seg_map_path')
    label = f', label {seg}' if seg else ''
    return f'sample {results.get("sample_idx", "?")} ({img}{label})'


class GuardedCompose(Compose):
    """A dataset's pipeline whose loading stage names the sample on
    failure and checks the label ids it loads.

    The loading stage is every transform up to the first that leaves
    ``gt_seg_map`` in the results (all of them for a pipeline without
    labels); a failure there is a :class:`BadSampleError`. Later failures
    keep their type and get a note naming the sample.
    """

    def __init__(self, transforms, dataset_name, num_classes, ignore_index):
        super().__init__(transforms)
        self.dataset_name = dataset_name
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def __call__(self, data):
        loading = True
        info = dict(data)  # names the sample even after a failure
        for transform in self.transforms:
            if not loading:
                try:
                    data = transform(data)
                except Exception as err:
                    if hasattr(err, 'add_note'):  # Python 3.11+
                        err.add_note(
                            f'{self.dataset_name} {_sample_name(info)}'
                        )
                    raise
            else:
                data = self._load(transform, data, info)
                loading = 'gt_seg_map' not in data
                if not loading and self.num_classes:
                    self._check_labels(data, info)
            if data is None:
                return None
        return data

    def _bad(self, info, problem, path):
        return BadSampleError(
            f'{self.dataset_name} {_sample_name(info)}: {problem}', path
        )

    def _load(self, transform, data, info):
        # once the image is in, a loading failure is the label's file
        key = 'seg_map_path' if 'img' in data else 'img_path'
        path = info.get(key, info.get('img_path'))
        try:
            data = transform(data)
        except Exception as err:
            raise self._bad(
                info,
                f'cannot be loaded by {type(transform).__name__} '
                f'({type(err).__name__}: {err})',
                path,
            ) from err
        if data is None:  # LoadImageFromFile(ignore_empty=True)
            raise self._bad(
                info,
                f'{type(transform).__name__} returned nothing '
                '(unreadable file)',
                path,
            )
        return data

    def _check_labels(self, data, info):
        found = out_of_range_ids(
            data['gt_seg_map'], self.num_classes, self.ignore_index
        )
        if found:
            raise self._bad(
                info,
                describe_ids(found, self.num_classes, self.ignore_index),
                info.get('seg_map_path'),
            )


def guard_pipelines(dataset, check_labels=True):
    """Replace the pipeline of ``dataset`` and of every dataset it wraps
    by a :class:`GuardedCompose`; returns how many were replaced."""
    count = 0
    for item in wrapped_datasets(dataset):
        pipeline = getattr(item, 'pipeline', None)
        if not isinstance(pipeline, Compose) or isinstance(
            pipeline, GuardedCompose
        ):
            continue
        classes = (getattr(item, 'metainfo', None) or {}).get('classes')
        item.pipeline = GuardedCompose(
            pipeline.transforms,
            type(item).__name__,
            len(classes) if classes and check_labels else 0,
            getattr(item, 'ignore_index', 255),
        )
        count += 1
    return count


@DATASETS.register_module()
class SFSampleGuard:
    """Training set wrapper that names or replaces bad samples.

    Args:
        dataset (dict | Dataset): the training set (any mmseg dataset or
            wrapper, e.g. ``ClassUniformDataset``).
        on_bad (str): ``'raise'`` (default) stops at the first bad sample
            naming its files, index and the label ids found; ``'skip'``
            loads a replacement instead (see :meth:`replacement`).
        max_bad (int): ``'skip'`` stops once one loader process has met
            more bad files than this.
        seed (int): seed of the replacements; ``tools/train.py`` passes
            ``randomness.seed``.
        check_labels (bool): check label ids against the classes.

    ``tools/train.py`` wraps every training set in it, with the options of
    the config's ``sample_guard`` dict (e.g. ``--cfg-options
    sample_guard.on_bad=skip``).
    """

    def __init__(
        self, dataset, on_bad='raise', max_bad=20, seed=0, check_labels=True
    ):
        if on_bad not in ON_BAD:
            raise ValueError(
                f'SFSampleGuard: on_bad must be one of {ON_BAD}, got '
                f'{on_bad!r}'
            )
        self.dataset = (
            DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        )
        self.on_bad, self.max_bad = on_bad, int(max_bad)
        self.seed = int(seed or 0)
        if not guard_pipelines(self.dataset, check_labels):
            raise TypeError(
                f'SFSampleGuard: {type(self.dataset).__name__} has no '
                'pipeline to guard'
            )
        self.bad_files = {}  # path -> message, in this process

    @property
    def metainfo(self):
        return self.dataset.metainfo

    def full_init(self):
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx):
        return self.dataset.get_data_info(idx)

    def __getattr__(self, name):
        # SFInfiniteSampler asks for ClassUniformDataset's draws
        if name == 'sample_of' and 'dataset' in self.__dict__:
            return self.dataset.sample_of
        raise AttributeError(name)

    def __len__(self):
        return len(self.dataset)

    def replacement(self, idx, attempt):
        """The index loaded instead of bad ``idx`` at ``attempt`` (0, 1,
        ...): another image of the same pass over the data, drawn from
        ``(seed, idx, attempt)`` alone."""
        size = len(self)
        rounds, image = divmod(int(idx), size)
        if size < 2:
            return int(idx)
        step = np.random.default_rng([self.seed, int(idx), attempt])
        return rounds * size + (image + 1 + int(step.integers(size - 1))) % (
            size
        )

    def __getitem__(self, idx):
        current, last = idx, None
        for attempt in range(self.max_bad + 1):
            try:
                return self.dataset[current]
            except BadSampleError as err:
                if self.on_bad == 'raise':
                    raise BadSampleError(
                        f'{err}\nset sample_guard.on_bad=skip (e.g. '
                        '--cfg-options sample_guard.on_bad=skip) to replace '
                        'bad samples',
                        err.path,
                    ) from None
                self._count(err)
                last = str(err)
            current = self.replacement(idx, attempt)
        raise BadSampleError(
            f'SFSampleGuard: {self.max_bad + 1} bad samples in a row for '
            f'index {idx}; last: {last}'
        )

    def _count(self, err):
        if err.path in self.bad_files:
            return
        self.bad_files[err.path] = str(err)
        if len(self.bad_files) > self.max_bad:
            shown = '\n  '.join(list(self.bad_files.values())[:10])
            raise BadSampleError(
                f'SFSampleGuard: {len(self.bad_files)} bad files, more than '
                f'max_bad={self.max_bad}:\n  {shown}'
            )
        print_log(
            f'skipping bad sample, replaced by a fixed other index in every '
            f'run ({len(self.bad_files)} of at most {self.max_bad} bad '
            f'files): {err}',
            logger='current',
            level=30,
        )
