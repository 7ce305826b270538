"""Datasets and the UDS split builder on bad input: clear errors or a
report when asked to skip, and the input tree is never modified."""

import os
import os.path as osp
import re

import numpy as np
import pytest
from driving_fixtures import make_uds_fixture, save
from mmseg.registry import DATASETS
from tool_loader import load_tool

from sfseg.datasets import DatasetInputError
from sfseg.utils.files import tree_hash


def idd_cfg(root, **kwargs):
    return dict(
        type='IDDDataset',
        data_root=osp.join(root, 'IDD'),
        data_prefix=dict(
            img_path='leftImg8bit/train',
            seg_map_path='../IDD19/gtFine/train',
        ),
        pipeline=[],
        **kwargs,
    )


@pytest.fixture
def data(tmp_path):
    root = str(tmp_path / 'data')
    make_uds_fixture(root)
    return root


def break_idd(root):
    """An image without label, a label of the wrong size, an unreadable
    image (with a label); returns the three offending paths."""
    img = f'{root}/IDD/leftImg8bit/train/0/%s_leftImg8bit.png'
    lab = f'{root}/IDD19/gtFine/train/0/%s_gtFine_labelTrainIds.png'
    save(img % '000007', np.zeros((64, 128, 3), np.uint8))  # no label
    save(lab % '000001', np.zeros((32, 128), np.uint8))  # wrong size
    with open(img % '000008', 'wb') as f:
        f.write(b'not an image')
    save(lab % '000008', np.zeros((64, 128), np.uint8))
    return img % '000007', lab % '000001', img % '000008'


def test_missing_root_and_wrong_layout_name_the_path(data):
    with pytest.raises(
        DatasetInputError,
        match='IDDDataset: image folder not found: .*nope/leftImg8bit/train',
    ):
        DATASETS.build(dict(idd_cfg(data), data_root=f'{data}/nope'))
    with pytest.raises(
        DatasetInputError,
        match='Mapillary19Dataset: image folder not found: .*training/images',
    ):
        DATASETS.build(
            dict(
                type='Mapillary19Dataset',
                data_root=f'{data}/IDD',  # the wrong dataset's root
                data_prefix=dict(
                    img_path='training/images', seg_map_path='training/labels'
                ),
            )
        )
    with pytest.raises(
        DatasetInputError, match='label folder not found: .*IDD20/gtFine'
    ):
        cfg = idd_cfg(data)
        cfg['data_prefix']['seg_map_path'] = '../IDD20/gtFine/train'
        DATASETS.build(cfg)


def test_bad_samples_stop_or_are_skipped_and_reported(data):
    orphan, small, junk = break_idd(data)
    before = tree_hash(data)
    # missing labels are always checked
    with pytest.raises(DatasetInputError) as err:
        DATASETS.build(idd_cfg(data))
    assert f'{orphan}: no label file' in str(err.value)
    # sizes and readability with check_files
    with pytest.raises(DatasetInputError) as err:
        DATASETS.build(idd_cfg(data, check_files=True))
    text = str(err.value)
    assert 'IDDDataset: 3 bad sample(s) of 4' in text
    assert f'{small}: label is 128x32 but its image' in text
    assert f'{junk}: unreadable' in text
    assert 'on_bad="skip"' in text
    dataset = DATASETS.build(idd_cfg(data, on_bad='skip', check_files=True))
    assert len(dataset) == 1
    assert osp.basename(dataset.get_data_info(0)['img_path']) == (
        '000000_leftImg8bit.png'
    )
    assert len(dataset.skipped) == 3
    assert tree_hash(data) == before


def test_check_files_decodes_truncated_jpeg(data):
    img = f'{data}/mapillary/training/images/m0.jpg'
    with open(img, 'rb') as f:
        head = f.read()
    with open(img, 'wb') as f:
        f.write(head[: len(head) * 2 // 3])
    cfg = dict(
        type='Mapillary19Dataset',
        data_root=f'{data}/mapillary',
        data_prefix=dict(
            img_path='training/images',
            seg_map_path='../mapillary19/training/labels',
        ),
        pipeline=[],
    )
    assert len(DATASETS.build(cfg)) == 2  # headers alone look fine
    with pytest.raises(DatasetInputError) as err:
        DATASETS.build(dict(cfg, check_files=True))
    assert f'{osp.normpath(img)}: unreadable' in str(err.value)
    assert 'truncated' in str(err.value)
    dataset = DATASETS.build(dict(cfg, check_files=True, on_bad='skip'))
    assert len(dataset) == 1


def test_skipping_every_sample_names_the_dataset(data, tmp_path):
    empty = tmp_path / 'no_labels'
    empty.mkdir()
    cfg = idd_cfg(data, on_bad='skip')
    cfg['data_prefix']['seg_map_path'] = str(empty)
    with pytest.raises(DatasetInputError) as err:
        DATASETS.build(cfg)
    text = str(err.value)
    assert text.startswith('IDDDataset: on_bad="skip" skipped all 2 samples')
    assert 'no label file' in text


def test_uds_skips_bad_samples_in_every_source(data):
    from mmengine.config import Config

    orphan, _, _ = break_idd(data)
    bdd_orphan = f'{data}/bdd/images/train/b9.jpg'
    save(bdd_orphan, np.zeros((64, 128, 3), np.uint8))
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
            'configs',
            '_base_',
            'datasets',
            'uds_1024x1024.py',
        )
    )
    uds = cfg.train_dataloader.dataset.dataset
    for source in uds.sources.values():
        source.data_root = osp.join(data, source.data_root[len('data/') :])
    before = tree_hash(data)
    with pytest.raises(DatasetInputError, match='b9.jpg: no label file'):
        DATASETS.build(uds)  # mmseg's BDD100KDataset is checked too
    dataset = DATASETS.build(dict(uds, on_bad='skip', check_files=True))
    assert len(dataset) == 2 + 2 + 1 + 2
    assert [m.split(':')[0] for m in dataset.skipped['bdd']] == [bdd_orphan]
    assert len(dataset.skipped['idd']) == 3
    assert dataset.skipped['mapillary'] == []
    assert tree_hash(data) == before


def read_lines(path):
    with open(path) as f:
        return f.read().split()


def test_uds_split_builder_writes_lists(data, tmp_path, capsys):
    uds = load_tool('tools/dataset_converters/uds.py')

    out = str(tmp_path / 'splits')
    counts, problems = uds.main([out, '--data-root', data])
    assert counts == {
        'train': dict(bdd=2, mapillary=2, idd=2, cityscapes=2),
        'val': dict(bdd=1, mapillary=1, idd=1, cityscapes=1),
    }
    assert problems == {}
    assert read_lines(f'{out}/idd_train.txt') == ['0/000000', '0/000001']
    assert read_lines(f'{out}/bdd_val.txt') == ['b0']
    assert read_lines(f'{out}/mapillary_train.txt') == ['m0', 'm1']
    assert len(read_lines(f'{out}/cityscapes_train.txt')) == 2
    text = capsys.readouterr().out
    assert re.search(r'UDS +train +8 +34,968', text)
    assert re.search(r'idd +train +2 +6,993', text)
    # the lists work as mmseg ann_files and give the scanned samples
    scanned = DATASETS.build(idd_cfg(data))
    listed = DATASETS.build(idd_cfg(data, ann_file=f'{out}/idd_train.txt'))
    assert len(listed) == len(scanned) == 2
    assert [listed.get_data_info(i)['seg_map_path'] for i in range(2)] == [
        scanned.get_data_info(i)['seg_map_path'] for i in range(2)
    ]
    # a non-empty output needs --force
    with pytest.raises(SystemExit, match='not empty; pass --force'):
        uds.main([out, '--data-root', data])


def test_uds_split_builder_bad_input(data, tmp_path, capsys):
    uds = load_tool('tools/dataset_converters/uds.py')

    with pytest.raises(
        SystemExit, match='image folder not found: .*elsewhere/images/train'
    ):
        uds.main(
            [str(tmp_path / 'a'), '--data-root', data, '--root', 'bdd=' +
             str(tmp_path / 'elsewhere')]
        )  # fmt: skip
    orphan, small, junk = break_idd(data)
    before = tree_hash(data)
    with pytest.raises(SystemExit, match=f'{orphan}: no label file'):
        uds.main([str(tmp_path / 'b'), '--data-root', data])
    assert not osp.exists(tmp_path / 'b')  # nothing written on error
    counts, problems = uds.main(
        [
            str(tmp_path / 'c'),
            '--data-root',
            data,
            '--skip-bad',
            '--check-files',
        ]
    )
    assert counts['train']['idd'] == 1
    assert len(problems['idd_train']) == 3
    text = capsys.readouterr().out
    assert 'idd_train: skipped 3' in text and small in text
    assert os.listdir(tmp_path / 'c')
    assert tree_hash(data) == before
