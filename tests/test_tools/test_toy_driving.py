import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from tool_loader import load_tool

from sfseg.datasets.toy.driving import TRAIN_TO_LABEL_ID, generate
from sfseg.utils.files import tree_hash

main = load_tool('tools/dataset_converters/toy_driving.py').main


def test_layout_and_labels(tmp_path):
    root = str(tmp_path / 'toy')
    counts = generate(
        root, 3, 2, 1, size=(48, 96), seed=3, show_progress=False
    )
    assert counts == dict(train=3, val=2, test=1)
    imgs = sorted(os.listdir(osp.join(root, 'leftImg8bit', 'val', 'toytown')))
    assert imgs == [
        'toytown_000000_000003_leftImg8bit.png',
        'toytown_000000_000004_leftImg8bit.png',
    ]
    stem = osp.join(root, 'gtFine', 'val', 'toytown', 'toytown_000000_000003')
    train_ids = np.array(Image.open(stem + '_gtFine_labelTrainIds.png'))
    label_ids = np.array(Image.open(stem + '_gtFine_labelIds.png'))
    img = Image.open(osp.join(root, 'leftImg8bit', 'val', 'toytown', imgs[0]))
    assert img.size == (96, 48) and img.mode == 'RGB'
    assert train_ids.shape == (48, 96)
    present = set(np.unique(train_ids).tolist())
    assert present <= set(TRAIN_TO_LABEL_ID)  # every pixel labelled
    assert {0, 2, 10} <= present  # road, building, sky in every scene
    for train_id in present:
        assert np.all(
            label_ids[train_ids == train_id] == TRAIN_TO_LABEL_ID[train_id]
        )


def test_deterministic(tmp_path):
    generate(
        str(tmp_path / 'a'), 2, 1, 0, (32, 64), seed=5, show_progress=False
    )
    generate(
        str(tmp_path / 'b'), 2, 1, 0, (32, 64), seed=5, show_progress=False
    )
    assert tree_hash(tmp_path / 'a') == tree_hash(tmp_path / 'b')


def test_refuses_non_empty_dir_without_force(tmp_path, capsys):
    root = tmp_path / 'busy'
    root.mkdir()
    (root / 'keep.txt').write_text('precious')
    with pytest.raises(SystemExit) as err:
        main([str(root), '--num-train', '1', '--num-val', '1'])
    assert 'is not empty; pass --force' in str(err.value)
    assert str(root) in str(err.value)
    assert os.listdir(root) == ['keep.txt']
    main(
        [
            str(root),
            '--num-train',
            '1',
            '--num-val',
            '1',
            '--num-test',
            '0',
            '--size',
            '32',
            '64',
            '--force',
        ]
    )
    assert (root / 'keep.txt').read_text() == 'precious'
    assert (root / 'leftImg8bit' / 'train' / 'toytown').is_dir()
