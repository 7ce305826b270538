"""Cityscapes -> COCO-panoptic converter on a fixture in the real
Cityscapes layout, checked against cityscapesscripts' own export and
loaded through mmdet's CocoPanopticDataset with the sfseg config."""

import json
import os
import os.path as osp

import numpy as np
import pytest
from common import REPO
from panopticapi.utils import rgb2id
from PIL import Image
from tool_loader import load_tool

from sfseg.utils.files import tree_hash

cityscapes_panoptic = load_tool(
    'tools/dataset_converters/cityscapes_panoptic.py'
)

THINGS = ['person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
          'bicycle']  # fmt: skip
STUFF = ['road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
         'traffic light', 'traffic sign', 'vegetation', 'terrain',
         'sky']  # fmt: skip


def instance_map(seed):
    """48x64 instanceIds: road, sky, building, two cars, a crowd of
    persons, a rider instance, ego vehicle (void), a caravan instance
    (not evaluated -> void)."""
    ids = np.full((48, 64), 7, np.int32)  # road
    ids[:10] = 23  # sky
    ids[10:20, :20] = 11  # building
    ids[20:30, 5:15] = 26000  # car 0
    ids[22:32, 30 : 40 + seed] = 26001  # car 1
    ids[35:40, 50:60] = 24  # person crowd (no instance id)
    ids[12:18, 40:44] = 25000  # rider
    ids[44:, :] = 1  # ego vehicle
    ids[30:34, 0:4] = 29000  # caravan instance: ignored in eval
    return ids


def write_city(root, split, city, index, ids):
    name = f'{city}_000000_{index:06d}'
    img_dir = osp.join(root, 'leftImg8bit', split, city)
    gt_dir = osp.join(root, 'gtFine', split, city)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(gt_dir, exist_ok=True)
    rng = np.random.default_rng(index)
    Image.fromarray(rng.integers(0, 255, (*ids.shape, 3), np.uint8)).save(
        osp.join(img_dir, f'{name}_leftImg8bit.png')
    )
    Image.fromarray(ids.astype(np.uint16)).save(
        osp.join(gt_dir, f'{name}_gtFine_instanceIds.png')
    )
    # the label-id map that ships beside it (not read by the converter)
    label_ids = np.where(ids >= 1000, ids // 1000, ids).astype(np.uint8)
    Image.fromarray(label_ids).save(
        osp.join(gt_dir, f'{name}_gtFine_labelIds.png')
    )
    return name


@pytest.fixture
def city_root(tmp_path):
    root = str(tmp_path / 'cityscapes')
    names = {}
    for split, city, n in (('train', 'aachen', 2), ('val', 'lindau', 1)):
        names[split] = [
            write_city(root, split, city, i, instance_map(i)) for i in range(n)
        ]
    return root, names


def read_ids(path):
    return rgb2id(np.asarray(Image.open(path)))


def test_layout_categories_areas_and_input_untouched(city_root, tmp_path):
    root, names = city_root
    before = tree_hash(root)
    out = str(tmp_path / 'pan')
    report = cityscapes_panoptic.main([root, out])
    assert report['converted'] == 3 and report['missing'] == []
    assert report['crowd'] == 3  # one person crowd per image
    with open(
        osp.join(out, 'annotations', 'cityscapes_panoptic_val.json')
    ) as f:
        val = json.load(f)
    cats = val['categories']
    assert [c['name'] for c in cats] == THINGS + STUFF  # things first
    assert [c['isthing'] for c in cats] == [1] * 8 + [0] * 11
    assert [c['id'] for c in cats][:3] == [24, 25, 26]  # Cityscapes ids
    for split in ('train', 'val'):
        with open(
            osp.join(out, 'annotations', f'cityscapes_panoptic_{split}.json')
        ) as f:
            data = json.load(f)
        assert [i['id'] for i in data['images']] == list(
            range(1, len(names[split]) + 1)
        )
        for image, ann in zip(data['images'], data['annotations']):
            assert image['file_name'] == ann['file_name']
            assert ann['image_id'] == image['id']
            name = image['file_name']
            # flat folders, one basename: what CocoPanopticDataset reads
            linked = osp.join(out, f'images_{split}', name)
            assert osp.realpath(linked).startswith(osp.realpath(root))
            pan = read_ids(osp.join(out, f'panoptic_{split}', name))
            segs = {s['id']: s for s in ann['segments_info']}
            assert set(np.unique(pan)) - {0} == set(segs)  # 0 = void
            for seg_id, seg in segs.items():
                mask = pan == seg_id
                assert seg['area'] == int(mask.sum())  # area = PNG pixels
                ys, xs = np.nonzero(mask)
                x0, y0 = int(xs.min()), int(ys.min())
                w, h = int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1
                assert seg['bbox'] == [x0, y0, w, h]
            assert segs[24]['iscrowd'] == 1 and segs[26000]['iscrowd'] == 0
            assert 1 not in segs and 29000 not in segs  # void
            assert (pan[44:] == 0).all()  # ego vehicle
    assert tree_hash(root) == before
    with pytest.raises(SystemExit, match='not empty; pass --force'):
        cityscapes_panoptic.main([root, out])


def test_same_segments_as_cityscapesscripts(city_root, tmp_path):
    from cityscapesscripts.preparation.createPanopticImgs import (
        convert2panoptic,
    )

    root, names = city_root
    ref_dir = str(tmp_path / 'ref')
    os.makedirs(ref_dir)
    convert2panoptic(osp.join(root, 'gtFine'), ref_dir, setNames=['train'])
    with open(osp.join(ref_dir, 'cityscapes_panoptic_train.json')) as f:
        ref = json.load(f)
    out = str(tmp_path / 'pan')
    cityscapes_panoptic.convert(
        root, out, splits=['train'], show_progress=False
    )
    with open(
        osp.join(out, 'annotations', 'cityscapes_panoptic_train.json')
    ) as f:
        ours = json.load(f)
    assert sorted(c['id'] for c in ours['categories']) == sorted(
        c['id'] for c in ref['categories']
    )
    ref_by_name = {a['image_id']: a for a in ref['annotations']}
    for ann in ours['annotations']:
        stem = ann['file_name'][: -len('_leftImg8bit.png')]
        expected = ref_by_name[stem]

        def key(s):
            return s['id']

        assert sorted(ann['segments_info'], key=key) == sorted(
            expected['segments_info'], key=key
        )
        assert np.array_equal(
            read_ids(osp.join(out, 'panoptic_train', ann['file_name'])),
            read_ids(osp.join(ref_dir, 'cityscapes_panoptic_train',
                            expected['file_name'])),
        )  # fmt: skip


def test_bad_input_is_named_or_skipped(city_root, tmp_path):
    root, _ = city_root
    img = osp.join(root, 'leftImg8bit', 'train', 'aachen')
    # an image without its label, a label of the wrong size, an unknown id
    Image.new('RGB', (64, 48)).save(osp.join(img, 'orphan_leftImg8bit.png'))
    small = write_city(root, 'train', 'aachen', 7, instance_map(0)[:24])
    Image.new('RGB', (64, 48)).save(osp.join(img, f'{small}_leftImg8bit.png'))
    odd = instance_map(0)
    odd[0, 0] = 40  # no such Cityscapes label
    write_city(root, 'train', 'aachen', 8, odd)
    before = tree_hash(root)
    with pytest.raises(SystemExit, match='orphan_leftImg8bit.png'):
        cityscapes_panoptic.main([root, str(tmp_path / 'a')])
    report = cityscapes_panoptic.convert(
        root, str(tmp_path / 'b'), skip_bad=True, show_progress=False
    )
    assert [osp.basename(p) for p in report['missing']] == [
        'orphan_leftImg8bit.png'
    ]
    assert len(report['bad']) == 1
    assert (
        f'{small}_gtFine_instanceIds.png: label is 64x24' in report['bad'][0]
    )
    assert report['unknown_ids'] == {40: 1}
    assert report['converted'] == 4
    with pytest.raises(SystemExit, match='wrong layout: .*gtFine'):
        cityscapes_panoptic.main(
            [osp.join(root, 'gtFine'), str(tmp_path / 'c')]
        )
    assert tree_hash(root) == before


def test_mmdet_reads_the_output_with_the_sfseg_config(city_root, tmp_path):
    from mmdet.registry import DATASETS
    from mmengine.config import Config

    root, _ = city_root
    out = str(tmp_path / 'pan')
    cityscapes_panoptic.convert(root, out, show_progress=False)
    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs', 'knet_panoptic', '_base_', 'datasets',
            'cityscapes_panoptic.py',
        )
    )  # fmt: skip
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.data_root = out + '/'
    dataset_cfg.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(type='PackDetInputs'),
    ]
    dataset = DATASETS.build(dataset_cfg)
    assert dataset.metainfo['thing_classes'] == tuple(THINGS)
    sample = dataset[0]['data_samples']
    sem = sample.gt_sem_seg.sem_seg[0].numpy()
    inst = sample.gt_instances
    # contiguous labels: things 0..7, stuff 8..18, void 255
    assert sem[40, 30] == THINGS.__len__() + STUFF.index('road')
    assert sem[5, 5] == 8 + STUFF.index('sky')
    assert sem[25, 10] == THINGS.index('car')
    assert sem[46, 0] == 255  # ego vehicle
    assert sorted(inst.labels.tolist()) == [1, 2, 2]  # rider, two cars
    # the crowd of persons is ignored as an instance, kept in the map
    assert sem[37, 55] == THINGS.index('person')
