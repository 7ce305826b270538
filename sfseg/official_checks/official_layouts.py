r"""Synthetic checkpoints in the official layouts, for tests and checks.

The key names, shapes and dtypes of every released official file are
dumped as tables (:data:`OFFICIAL_KEYS`\ ``/<name>.tsv``, one
``key<TAB>shape<TAB>dtype`` line per tensor; see that folder's README).
These helpers fill a table with seeded random values and write it the way
the official code saved it, so conversion and ImageNet initialisation are
checked on exact layouts without downloading anything.
"""

import os.path as osp

import numpy as np
import torch

# the tables, shipped with this package (see the README there)
OFFICIAL_KEYS = osp.join(osp.dirname(osp.abspath(__file__)), 'official_keys')


def read_layout(tables, name):
    """``[(key, shape, dtype)]`` of table ``<tables>/<name>.tsv``."""
    rows = []
    with open(osp.join(tables, f'{name}.tsv')) as f:
        for line in f:
            key, shape, dtype = line.rstrip('\n').split('\t')
            shape = tuple(int(v) for v in shape.split(',')) if shape else ()
            rows.append((key, shape, dtype))
    return rows


def random_state(tables, name, seed=0):
    """A state dict with the layout of ``name``: random normal floats and
    random int64 counters, reproducible from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape, dtype in read_layout(tables, name):
        if dtype == 'int64':
            state[key] = torch.randint(0, 100, shape, generator=gen)
        else:
            state[key] = torch.randn(shape, generator=gen)
    return state


def runnable_state(tables, name, seed=0):
    """:func:`random_state` with weights that keep a forward finite:
    positive BN variances, conv weights scaled by 1 / sqrt(fan-in)."""
    state = random_state(tables, name, seed)
    for key, value in state.items():
        if key.endswith('running_var'):
            state[key] = value.abs() + 0.5
        elif value.dim() == 4:
            state[key] = value / value[0].numel() ** 0.5
    return state


def save_released(state, path):
    """Save a whole model as the official release does: DataParallel
    (``module.``) keys plus its training information."""
    torch.save(
        {
            'state_dict': {f'module.{k}': v for k, v in state.items()},
            'epoch': 299,
            'mean_iu': np.float64(0.79),  # np.nanmean in the official code
            'command': 'train.py --arch x',
        },
        path,
    )


def write_official_imagenet(tables, name, path, seed=0):
    """Write an ImageNet backbone file of ``name`` (e.g.
    ``'resnet18_deep'``) as released (STDC: under ``state_dict``, as in
    the ``.tar`` release); return its state dict."""
    state = random_state(tables, f'imagenet_{name}', seed)
    torch.save({'state_dict': state} if 'stdc' in name else state, path)
    return state
