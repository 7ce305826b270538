"""Mapillary / IDD label converters on fixtures in the real layouts.

The expected values below are written out from the research brief's
Appendix A (official utils/mapillary_to_city.py and datasets/idd_labels.py),
independently of sfseg.datasets.label_maps.
"""

import hashlib
import os
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))

import idd  # noqa: E402
import mapillary  # noqa: E402

from sfseg.datasets import LabelConversionError  # noqa: E402

X = 255
# Mapillary id 0..65 -> train id
MAPILLARY_EXPECTED = [
    X, X, 1, 4, X, X, 3, X, X, X, X, X, X, 0, X, 1, X, 2, X, 11, 12, 12, 12,
    X, 0, X, X, 10, X, 9, 8, X, X, X, X, X, X, X, X, X, X, 0, X, X, X, 5, X,
    5, 6, X, 7, X, 18, X, 15, 13, X, 17, 16, X, X, 14, X, X, X, X,
]  # fmt: skip
# IDD id 0..39 -> train id
IDD_EXPECTED = [
    0, X, X, 1, X, 9, 11, X, 12, 17, 18, X, 13, 14, 15, X, X, 16, X, X, 3, 4,
    X, X, 7, 6, 5, X, X, 2, X, X, 8, 10, X, X, X, X, X, X,
]  # fmt: skip


def tree_hash(root):
    digest = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(dirpath, name)
            digest.update(path.encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def id_map(num_ids, unknown, shape=(8, 12)):
    """Every id once (row-major), one unknown id, the rest id 0."""
    ids = np.zeros(shape, dtype=np.uint8)
    ids.flat[:num_ids] = np.arange(num_ids)
    ids.flat[num_ids] = unknown
    return ids


def write_img(path, shape=(8, 12)):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.zeros((*shape, 3), np.uint8)).save(path)


def write_label(path, ids):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(ids).save(path)


@pytest.fixture
def mapillary_root(tmp_path):
    root = tmp_path / 'mapillary'
    for split, names in (('training', ['a', 'b']), ('validation', ['c'])):
        for name in names:
            write_img(str(root / split / 'images' / f'{name}.jpg'))
            write_label(
                str(root / split / 'v1.2' / 'labels' / f'{name}.png'),
                id_map(66, unknown=70),
            )
    return str(root)


@pytest.fixture
def idd_root(tmp_path):
    root = tmp_path / 'IDD'
    for split, seq, ids in (
        ('train', '201', ['000123', '000124']),
        ('val', '7', ['000001']),
    ):
        for i in ids:
            write_img(
                str(
                    root / 'leftImg8bit' / split / seq / f'{i}_leftImg8bit.png'
                )
            )
            write_label(
                str(
                    root / 'gtFine' / split / seq / f'{i}_gtFine_labelids.png'
                ),
                id_map(40, unknown=45),
            )
    return str(root)


def test_mapillary_every_id(mapillary_root, tmp_path):
    before = tree_hash(mapillary_root)
    out = str(tmp_path / 'out')
    report = mapillary.convert(
        mapillary_root, out, nproc=2, show_progress=False
    )
    assert report['converted'] == 3
    assert report['unknown_ids'] == {70: 3}  # 1 pixel in each of 3 maps
    assert report['missing'] == [] and report['bad'] == []
    for rel in (
        'training/labels/a.png',
        'training/labels/b.png',
        'validation/labels/c.png',
    ):
        got = np.asarray(Image.open(osp.join(out, rel)))
        assert list(got.flat[:66]) == MAPILLARY_EXPECTED
        assert got.flat[66] == 255  # unknown id
        assert (got.flat[67:] == MAPILLARY_EXPECTED[0]).all()
    assert tree_hash(mapillary_root) == before


def test_idd_every_id(idd_root, tmp_path):
    before = tree_hash(idd_root)
    out = str(tmp_path / 'out')
    report = idd.convert(idd_root, out, nproc=1, show_progress=False)
    assert report['converted'] == 3 and report['unknown_ids'] == {45: 3}
    got = np.asarray(
        Image.open(
            osp.join(
                out,
                'gtFine',
                'train',
                '201',
                '000124_gtFine_labelTrainIds.png',
            )
        )
    )
    assert list(got.flat[:40]) == IDD_EXPECTED
    assert got.flat[40] == 255
    assert tree_hash(idd_root) == before


def test_two_processes_give_identical_output(idd_root, tmp_path):
    idd.convert(idd_root, str(tmp_path / 'one'), nproc=1, show_progress=False)
    idd.convert(idd_root, str(tmp_path / 'two'), nproc=2, show_progress=False)
    assert tree_hash(tmp_path / 'one').replace('one', '') or True
    for dirpath, _, files in os.walk(tmp_path / 'one'):
        for name in files:
            a = osp.join(dirpath, name)
            b = a.replace(str(tmp_path / 'one'), str(tmp_path / 'two'))
            assert np.array_equal(
                np.asarray(Image.open(a)), np.asarray(Image.open(b))
            )


def test_bad_inputs_are_named_and_input_is_untouched(
    mapillary_root, tmp_path, capsys
):
    out = str(tmp_path / 'out')
    with pytest.raises(LabelConversionError, match='root not found: .*nope'):
        mapillary.convert(str(tmp_path / 'nope'), out)
    with pytest.raises(
        LabelConversionError,
        match='wrong layout: .*leftImg8bit/train not found',
    ):
        idd.convert(mapillary_root, out)
    root = mapillary_root
    # an image without its label
    write_img(osp.join(root, 'training', 'images', 'orphan.jpg'))
    # a label of the wrong size and an unreadable label
    write_img(osp.join(root, 'training', 'images', 'small.jpg'), (4, 4))
    write_label(
        osp.join(root, 'training', 'v1.2', 'labels', 'small.png'),
        id_map(10, 11),
    )
    write_img(osp.join(root, 'training', 'images', 'junk.jpg'))
    with open(
        osp.join(root, 'training', 'v1.2', 'labels', 'junk.png'), 'wb'
    ) as f:
        f.write(b'not a png')
    before = tree_hash(root)
    with pytest.raises(
        LabelConversionError, match='have no label file(.|\n)*orphan.jpg'
    ):
        mapillary.convert(root, out, show_progress=False)
    report = mapillary.convert(
        root,
        str(tmp_path / 'out3'),
        nproc=2,
        skip_bad=True,
        show_progress=False,
    )
    assert report['converted'] == 3
    assert [osp.basename(p) for p in report['missing']] == ['orphan.jpg']
    bad = '\n'.join(report['bad'])
    assert 'small.png: label is 12x8 but its image' in bad
    assert 'junk.png: unreadable' in bad
    assert tree_hash(root) == before
    # refuses to write into a non-empty output or inside the input
    with pytest.raises(SystemExit, match='not empty; pass --force'):
        mapillary.main([root, str(tmp_path / 'out3'), '--skip-bad'])
    with pytest.raises(LabelConversionError, match='inside the input'):
        mapillary.convert(root, osp.join(root, 'converted'))
    mapillary.main([root, str(tmp_path / 'out3'), '--skip-bad', '--force'])
    text = capsys.readouterr().out
    assert 'converted: 3 label maps' in text
    assert 'unknown ids (written as 255): 70: 3 px' in text
    assert 'missing label files: 1' in text and 'bad label files: 2' in text


def test_bad_label_stops_the_run_naming_it(idd_root, tmp_path):
    label = osp.join(
        idd_root, 'gtFine', 'val', '7', '000001_gtFine_labelids.png'
    )
    write_label(label, id_map(40, 45, shape=(6, 12)))
    with pytest.raises(
        LabelConversionError,
        match='1 bad label file(.|\n)*000001_gtFine_labelids'
        '.png: label is 12x6 but its image',
    ):
        idd.convert(idd_root, str(tmp_path / 'out'), show_progress=False)


def test_conversion_benchmark_script_runs(tmp_path, capsys):
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    from benchmark_label_conversion import main as bench

    speedup, same = bench(
        [
            '--num',
            '6',
            '--size',
            '32',
            '64',
            '--rounds',
            '1',
            '--work-dir',
            str(tmp_path),
        ]
    )
    assert same and speedup > 0
    assert 'identical outputs: True' in capsys.readouterr().out
