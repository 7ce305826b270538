"""The official key tables shipped with the verification package and the
synthetic files written from them."""

import glob
import os.path as osp

import numpy as np
import torch

from sfseg.models.official import FAMILIES
from sfseg.models.official.keys import BACKBONES
from sfseg.official_checks.official_layouts import (
    OFFICIAL_KEYS,
    random_state,
    read_layout,
    runnable_state,
    save_released,
)
from sfseg.utils import load_checkpoint_file


def test_every_family_and_backbone_has_a_table():
    tables = {
        osp.basename(p)[:-4] for p in glob.glob(f'{OFFICIAL_KEYS}/*.tsv')
    }
    assert set(FAMILIES) <= tables
    assert {f'imagenet_{b}' for b in BACKBONES} <= tables


def test_runnable_state_keeps_the_layout_and_a_forward_finite():
    layout = read_layout(OFFICIAL_KEYS, 'sfnet_r18')
    state = runnable_state(OFFICIAL_KEYS, 'sfnet_r18')
    assert [(k, tuple(v.shape)) for k, v in state.items()] == [
        (k, s) for k, s, _ in layout
    ]
    assert all(
        (v > 0).all() for k, v in state.items() if k.endswith('running_var')
    )
    weight = state['layer0.0.0.weight']  # 64 x 3 x 3 x 3
    raw = random_state(OFFICIAL_KEYS, 'sfnet_r18')['layer0.0.0.weight']
    assert torch.allclose(weight, raw / 27**0.5)


def test_released_format(tmp_path):
    state = random_state(OFFICIAL_KEYS, 'sfnet_lite_stdc1')
    path = str(tmp_path / 'released.pth')
    save_released(state, path)
    ckpt = load_checkpoint_file(path)
    assert set(ckpt) == {'state_dict', 'epoch', 'mean_iu', 'command'}
    assert isinstance(ckpt['mean_iu'], np.float64)
    assert all(k.startswith('module.') for k in ckpt['state_dict'])
    assert len(ckpt['state_dict']) == len(state)
