"""Mapillary / IDD label converters on fixtures in the real layouts.

The expected values below are written out from the research brief's
Appendix A (official utils/mapillary_to_city.py and datasets/idd_labels.py),
independently of sfseg.datasets.convert.label_maps.
"""

import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from tool_loader import load_tool

from sfseg.datasets.convert import LabelConversionError
from sfseg.utils.files import tree_hash

idd = load_tool('tools/dataset_converters/idd.py')
mapillary = load_tool('tools/dataset_converters/mapillary.py')

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


def mapillary_palette(version):
    """The class colours each released Mapillary label PNG carries."""
    from mmseg.datasets import MapillaryDataset_v1, MapillaryDataset_v2

    ds = MapillaryDataset_v1 if version == 'v1.2' else MapillaryDataset_v2
    return [c for colour in ds.METAINFO['palette'] for c in colour]


def write_mapillary_label(path, ids, version='v1.2'):
    """A palette PNG as in the Mapillary download."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(ids, mode='L').convert('P')
    img.putpalette(mapillary_palette(version))
    img.save(path)


@pytest.fixture
def mapillary_root(tmp_path):
    root = tmp_path / 'mapillary'
    for split, names in (('training', ['a', 'b']), ('validation', ['c'])):
        for name in names:
            write_img(str(root / split / 'images' / f'{name}.jpg'))
            write_mapillary_label(
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
        mapillary_root,
        out,
        nproc=2,
        show_progress=False,
        unknown_ids_to_ignore=True,
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
    assert tree_hash(tmp_path / 'one') == tree_hash(tmp_path / 'two')
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
        unknown_ids_to_ignore=True,
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
    mapillary.main(
        [
            root,
            str(tmp_path / 'out3'),
            '--skip-bad',
            '--force',
            '--unknown-ids-to-ignore',
        ]
    )
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
    bench = load_tool(
        'tools/analysis_tools/benchmark_label_conversion.py'
    ).main

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


# Cityscapes labelId 0..33 -> trainId (brief Appendix A.3, written out
# independently of cityscapesscripts).
CITYSCAPES_EXPECTED = [
    X, X, X, X, X, X, X, 0, 1, X, X, 2, 3, 4, X, X, X, 5, X, 6, 7, 8, 9, 10,
    11, 12, 13, 14, 15, X, X, 16, 17, 18,
]  # fmt: skip


def square_polygon(index, side=4, per_row=10):
    x0, y0 = (index % per_row) * side, (index // per_row) * side
    return [[x0, y0], [x0 + side - 1, y0], [x0 + side - 1, y0 + side - 1],
            [x0, y0 + side - 1]]  # fmt: skip


def write_polygons(path, names, shape=(24, 48), extra=()):
    """One 4x4 square per name (row-major), then ``extra`` objects."""
    import json

    objects = [
        dict(label=name, polygon=square_polygon(i))
        for i, name in enumerate(names)
    ]
    objects += list(extra)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(
            dict(imgHeight=shape[0], imgWidth=shape[1], objects=objects), f
        )


def square_value(label, index):
    x0, y0 = square_polygon(index)[0]
    block = label[y0 : y0 + 4, x0 : x0 + 4]
    assert (block == block[0, 0]).all()
    return int(block[0, 0])


def test_idd_polygon_json_every_id(tmp_path):
    from sfseg.datasets.convert import IDD_NAMES

    root = tmp_path / 'IDD'
    img = root / 'leftImg8bit' / 'train' / '0' / '000005_leftImg8bit.png'
    write_img(str(img), (24, 48))
    ann = root / 'gtFine' / 'train' / '0' / '000005_gtFine_polygons.json'
    # the official names of ids 0..39 in order, then: a 'group' suffix
    # (falls back to 'car'), an unknown name, a deleted object on top of
    # the road square (must be skipped)
    names = [
        'road', 'parking', 'drivable fallback', 'sidewalk', 'rail track',
        'non-drivable fallback', 'person', 'animal', 'rider', 'motorcycle',
        'bicycle', 'autorickshaw', 'car', 'truck', 'bus', 'caravan',
        'trailer', 'train', 'vehicle fallback', 'curb', 'wall', 'fence',
        'guard rail', 'billboard', 'traffic sign', 'traffic light', 'pole',
        'polegroup', 'obs-str-bar-fallback', 'building', 'bridge', 'tunnel',
        'vegetation', 'sky', 'fallback background', 'unlabeled',
        'ego vehicle', 'rectification border', 'out of roi', 'license plate',
        'cargroup', 'spaceship',
    ]  # fmt: skip
    assert tuple(names[:40]) == IDD_NAMES
    deleted = dict(label='sky', polygon=square_polygon(0), deleted=1)
    write_polygons(str(ann), names, extra=[deleted])
    before = tree_hash(str(root))
    out = str(tmp_path / 'out')
    report = idd.convert(
        str(root), out, splits=['train'], nproc=1, show_progress=False
    )
    assert report['converted'] == 1
    assert report['unknown_labels'] == {'spaceship': 1}
    assert report['unknown_ids'] == {}
    got = np.asarray(
        Image.open(
            osp.join(
                out, 'gtFine', 'train', '0', '000005_gtFine_labelTrainIds.png'
            )
        )
    )
    assert [square_value(got, i) for i in range(40)] == IDD_EXPECTED
    assert square_value(got, 40) == 13  # cargroup -> car -> 13
    assert square_value(got, 41) == 255  # unknown name
    assert got[-1, -1] == 255  # background: 'unlabeled'
    assert tree_hash(str(root)) == before


def test_idd_source_choice_and_bad_json(idd_root, tmp_path):
    ann = osp.join(
        idd_root, 'gtFine', 'train', '201', '000123_gtFine_polygons.json'
    )
    write_polygons(ann, ['sky'] * 3, shape=(8, 12))
    out = str(tmp_path / 'a')
    label = osp.join(out, 'gtFine', 'train', '201')
    idd.convert(idd_root, out, source='auto', show_progress=False)
    auto = np.asarray(
        Image.open(osp.join(label, '000123_gtFine_labelTrainIds.png'))
    )
    assert list(auto.flat[:40]) == IDD_EXPECTED  # the PNG was used
    # --source json: only 000123 has a JSON, the other images are missing
    report = idd.main(
        [idd_root, str(tmp_path / 'b'), '--source', 'json', '--skip-bad']
    )
    assert report['converted'] == 1 and len(report['missing']) == 2
    got = np.asarray(
        Image.open(
            osp.join(
                tmp_path, 'b', 'gtFine', 'train', '201',
                '000123_gtFine_labelTrainIds.png',
            )
        )
    )  # fmt: skip
    assert got[0, 0] == 10 and got[-1, -1] == 255  # sky square, unlabeled
    with open(ann, 'w') as f:
        f.write('{"objects": []}')
    report = idd.convert(
        idd_root,
        str(tmp_path / 'c'),
        source='json',
        skip_bad=True,
        show_progress=False,
    )
    assert report['converted'] == 0
    assert len(report['bad']) == 1
    assert report['bad'][0].endswith(
        '000123_gtFine_polygons.json: unreadable (no "imgHeight" key (not '
        'a polygon annotation))'
    )


def test_cityscapes_coarse_every_id(tmp_path, capsys):
    cityscapes_coarse = load_tool(
        'tools/dataset_converters/cityscapes_coarse.py'
    )

    root = tmp_path / 'cityscapes'
    stem = 'bochum_000000_000019'
    write_img(
        str(root / 'leftImg8bit' / 'train_extra' / 'bochum' / f'{stem}'
            '_leftImg8bit.png')
    )  # fmt: skip
    write_label(
        str(root / 'gtCoarse' / 'train_extra' / 'bochum' / f'{stem}'
            '_gtCoarse_labelIds.png'),
        id_map(34, unknown=50),
    )  # fmt: skip
    # the gtFine folder of the same download must not be touched / needed
    before = tree_hash(str(root))
    out = str(tmp_path / 'coarse19')
    report = cityscapes_coarse.main([str(root), out])
    got = np.asarray(
        Image.open(
            osp.join(
                out, 'gtCoarse', 'train_extra', 'bochum',
                f'{stem}_gtCoarse_labelTrainIds.png',
            )
        )
    )  # fmt: skip
    assert list(got.flat[:34]) == CITYSCAPES_EXPECTED
    assert got.flat[34] == 255
    assert report['converted'] == 1 and report['unknown_ids'] == {50: 1}
    assert 'unknown ids (written as 255): 50: 1 px' in capsys.readouterr().out
    assert tree_hash(str(root)) == before
    with pytest.raises(SystemExit, match='not empty; pass --force'):
        cityscapes_coarse.main([str(root), out])
    with pytest.raises(SystemExit, match='wrong layout: .*train_extra'):
        cityscapes_coarse.main([str(tmp_path), str(tmp_path / 'x')])


# ------------------------------------------------ defects on real files
# Ids of one real Mapillary crop (mmseg's pseudo_mapillary_dataset):
# v1.2 {17 building, 44 street light, 45 pole}, the same crop in v2.0
# {27 building, 84 street light, 85 pole}.
def crop_ids(a, b, c, shape=(8, 12)):
    ids = np.full(shape, a, np.uint8)
    ids[:, -4:-2] = b
    ids[:, -2:] = c
    return ids


def single_label_root(tmp_path, ids, version, folder='v1.2'):
    root = tmp_path / 'mapillary'
    write_img(str(root / 'training' / 'images' / 'crop.jpg'))
    write_mapillary_label(
        str(root / 'training' / folder / 'labels' / 'crop.png'), ids, version
    )
    return str(root)


def test_v12_label_with_its_palette_converts(tmp_path):
    root = single_label_root(tmp_path, crop_ids(17, 44, 45), 'v1.2')
    out = str(tmp_path / 'out')
    report = mapillary.convert(
        root, out, splits=('training',), show_progress=False
    )
    assert report['converted'] == 1 and report['unknown_ids'] == {}
    got = np.asarray(Image.open(osp.join(out, 'training/labels/crop.png')))
    assert set(np.unique(got)) == {2, 5, 255}  # building, pole, ignore


def test_v20_label_is_refused_by_its_ids(tmp_path):
    root = single_label_root(tmp_path, crop_ids(27, 84, 85), 'v2.0')
    before = tree_hash(root)
    with pytest.raises(LabelConversionError) as err:
        mapillary.convert(
            root, str(tmp_path / 'out'), ('training',), show_progress=False
        )
    msg = str(err.value)
    assert 'crop.png' in msg and 'Mapillary Vistas v2.0 label' in msg
    assert "'Building' in v2.0 but 'Sky' in v1.2" in msg
    assert not osp.exists(osp.join(tmp_path, 'out', 'training', 'labels'))
    assert tree_hash(root) == before


def test_v20_label_without_high_ids_is_refused_by_its_palette(tmp_path):
    # only ids < 66 (building, road): the ids alone cannot tell
    root = single_label_root(tmp_path, crop_ids(27, 21, 21), 'v2.0')
    with pytest.raises(LabelConversionError, match='palette is the v2.0'):
        mapillary.convert(
            root, str(tmp_path / 'out'), ('training',), show_progress=False
        )
    # asking for 255 does not make a v2.0 label convertible
    with pytest.raises(LabelConversionError, match='v2.0 label'):
        mapillary.convert(
            root,
            str(tmp_path / 'out2'),
            ('training',),
            show_progress=False,
            unknown_ids_to_ignore=True,
        )


def test_high_ids_are_refused_unless_mapped_to_ignore(tmp_path, capsys):
    # v1.2 palette (or none) but ids >= 66
    ids = crop_ids(17, 84, 85)
    root = single_label_root(tmp_path, ids, 'v1.2')
    with pytest.raises(LabelConversionError) as err:
        mapillary.convert(
            root, str(tmp_path / 'out'), ('training',), show_progress=False
        )
    assert 'ids 84, 85 are not Mapillary v1.2 ids' in str(err.value)
    assert '--unknown-ids-to-ignore' in str(err.value)
    write_label(
        osp.join(root, 'training', 'v1.2', 'labels', 'crop.png'), ids
    )  # grayscale, no palette: same rule
    with pytest.raises(LabelConversionError, match='ids 84, 85'):
        mapillary.convert(
            root, str(tmp_path / 'out1'), ('training',), show_progress=False
        )
    mapillary.main(
        [
            root,
            str(tmp_path / 'out2'),
            '--splits',
            'training',
            '--unknown-ids-to-ignore',
        ]
    )
    assert 'unknown ids (written as 255): 84: 16 px, 85: 16 px' in (
        capsys.readouterr().out
    )


def test_v20_folder_is_named_in_the_layout_error(tmp_path):
    root = single_label_root(tmp_path, crop_ids(27, 84, 85), 'v2.0', 'v2.0')
    with pytest.raises(LabelConversionError, match='v2.0/labels holds'):
        mapillary.convert(root, str(tmp_path / 'out'), ('training',))


def test_output_through_a_symlink_into_the_input_is_refused(
    mapillary_root, tmp_path
):
    before = tree_hash(mapillary_root)
    # the output root itself is a link into the input tree
    link = tmp_path / 'looks_separate'
    os.symlink(osp.join(mapillary_root, 'training'), link)
    with pytest.raises(LabelConversionError, match='inside the input'):
        mapillary.convert(mapillary_root, str(link), show_progress=False)
    # a '..' detour
    detour = osp.join(str(tmp_path), 'x', '..', 'mapillary', 'out')
    with pytest.raises(LabelConversionError, match='inside the input'):
        mapillary.convert(mapillary_root, detour, show_progress=False)
    # a symlinked sub-folder of a separate output root
    out = tmp_path / 'out'
    out.mkdir()
    os.symlink(osp.join(mapillary_root, 'training'), out / 'training')
    with pytest.raises(LabelConversionError, match='a symlink in the output'):
        mapillary.convert(
            mapillary_root,
            str(out),
            force=True,
            show_progress=False,
            unknown_ids_to_ignore=True,
        )
    assert tree_hash(mapillary_root) == before


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[: len(data) // 2])


def test_truncated_jpeg_is_reported_by_the_converter(tmp_path):
    shape = (64, 96)
    root = tmp_path / 'mapillary'
    img = str(root / 'training' / 'images' / 'crop.jpg')
    os.makedirs(osp.dirname(img))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (*shape, 3), np.uint8)).save(img)
    truncate(img)
    with Image.open(img) as f:
        assert f.size == (96, 64)  # the header still reads
    write_mapillary_label(
        str(root / 'training' / 'v1.2' / 'labels' / 'crop.png'),
        crop_ids(17, 44, 45, shape),
    )
    with pytest.raises(LabelConversionError, match='crop.jpg: unreadable'):
        mapillary.convert(
            str(root), str(tmp_path / 'out'), ('training',),
            show_progress=False,
        )  # fmt: skip
