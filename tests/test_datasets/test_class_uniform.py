import os

import numpy as np
import pytest
from PIL import Image
from tool_loader import load_tool

from sfseg.datasets.class_uniform import (
    ClassUniformDataset,
    label_centroids,
)

RARE = 18  # bicycle


def test_centroids_follow_official_tiling():
    label = np.full((5, 9), 255, np.uint8)
    label[0:2, 0:2] = 3  # tile (0, 0)
    label[3, 5] = 7  # tile (1, 0) at x 5 -> offset 4 + 1
    label[4, 8] = 9  # outside any full 4x4 tile: ignored
    found = label_centroids(label, 19, tile=4)
    assert found == {3: [(0, 0)], 7: [(5, 3)]}


def official_centroids(label, num_classes, tile, ignore_index=255):
    """The official extraction: one ``center_of_mass`` per class and tile."""
    from scipy import ndimage

    out = {}
    for ty in range(label.shape[0] // tile):
        for tx in range(label.shape[1] // tile):
            block = label[
                ty * tile : (ty + 1) * tile, tx * tile : (tx + 1) * tile
            ]
            for cls in np.unique(block):
                cls = int(cls)
                if cls == ignore_index or cls >= num_classes:
                    continue
                cy, cx = ndimage.center_of_mass(block == cls)
                out.setdefault(cls, []).append(
                    (int(cx) + tx * tile, int(cy) + ty * tile)
                )
    return out


@pytest.mark.parametrize(
    'shape,tile,classes',
    [((96, 200), 32, 19), ((64, 64), 64, 19), ((70, 130), 16, 65)],
)
def test_centroids_equal_the_official_extraction(shape, tile, classes):
    """Blobs of many classes (and 255, and ids above the class count) on
    maps whose size is no multiple of the tile: same centroids, same
    order."""
    rng = np.random.default_rng(tile)
    label = rng.integers(0, classes, shape).astype(np.uint8)
    label = np.repeat(np.repeat(label[::4, ::4], 4, 0), 4, 1)[: shape[0]]
    label[rng.random(label.shape) < 0.05] = 255
    label[:5, :7] = 200
    want = official_centroids(label, classes, tile)
    assert want
    assert label_centroids(label, classes, tile) == want


@pytest.fixture(scope='module')
def rare_class_root(tmp_path_factory):
    """100 images; class 18 is a 4x4 blob in only 2 of them (<1% px)."""
    root = tmp_path_factory.mktemp('rare')
    rng = np.random.default_rng(0)
    for i in range(100):
        label = np.zeros((64, 128), np.uint8)  # road
        label[:24] = 10  # sky
        label[16:40, 10:40] = 2  # building
        label[20:44, 80:110] = 8  # vegetation
        if i in (13, 71):
            y, x = rng.integers(0, 60), rng.integers(0, 124)
            label[y : y + 4, x : x + 4] = RARE
        img = np.stack([label * 10] * 3, -1).astype(np.uint8)
        for kind, arr, name in (
            ('img', img, f'{i:03d}.png'),
            ('ann', label, f'{i:03d}.png'),
        ):
            os.makedirs(root / kind, exist_ok=True)
            Image.fromarray(arr).save(root / kind / name)
    return str(root)


def build(root, ratio, cache):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='SFCentroidCrop', crop_size=(32, 32)),
        dict(type='PackSegInputs'),
    ]
    dataset = dict(
        type='CityscapesDataset',
        data_root=root,
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=pipeline,
    )
    return ClassUniformDataset(
        dataset, uniform_ratio=ratio, tile=64, cache_dir=cache, seed=1
    )


def rare_fraction(dataset, draws=600):
    hits = 0
    for i in range(draws):
        seg = dataset[i]['data_samples'].gt_sem_seg.data
        assert seg.shape == (1, 32, 32)
        hits += bool((seg == RARE).any())
    return hits / draws


def test_rare_class_crops_rise_at_least_5x(rare_class_root, tmp_path):
    cache = str(tmp_path / 'cache')
    natural = rare_fraction(build(rare_class_root, 0.0, cache))
    uniform_ds = build(rare_class_root, 0.5, cache)
    assert RARE in uniform_ds.classes_with_centroids
    assert len(os.listdir(cache)) == 1  # centroids cached once
    uniform = rare_fraction(uniform_ds)
    print(
        f'rare-class crops: natural {natural:.3%}, class-uniform {uniform:.3%}'
    )
    assert uniform >= 5 * max(natural, 1 / 600)
    assert uniform > 0.05


def test_coarse_boosting_draws_rare_class_from_the_boost_set(tmp_path):
    """Class 13 (car) is removed from the fine labels and kept in the
    coarse set: boosting makes it drawable, and such samples load the
    coarse image and label."""
    cityscapes_coarse = load_tool(
        'tools/dataset_converters/cityscapes_coarse.py'
    )
    from driving_fixtures import make_coarse_fixture

    from sfseg.datasets.toy.driving import generate

    fine = str(tmp_path / 'cityscapes')
    generate(fine, 4, 1, 0, (64, 128), 0, show_progress=False)
    # fine labels without class 13 anywhere
    for dirpath, _, files in os.walk(fine):
        for name in files:
            if name.endswith('labelTrainIds.png'):
                path = os.path.join(dirpath, name)
                label = np.asarray(Image.open(path)).copy()
                label[label == 13] = 255
                Image.fromarray(label).save(path)
    coarse_src = str(tmp_path / 'coarse_src')
    truth = make_coarse_fixture(coarse_src, num=3, classes=[0, 2, 13])
    assert all((ids == 13).any() for ids in truth.values())
    cityscapes_coarse.convert(
        coarse_src, str(tmp_path / 'coarse19'), show_progress=False
    )
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='SFCentroidCrop', crop_size=(32, 32)),
        dict(type='PackSegInputs'),
    ]

    main = dict(
        type='CityscapesDataset',
        data_root=fine,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'
        ),
        pipeline=pipeline,
    )
    boost = dict(
        type='CityscapesDataset',
        data_prefix=dict(
            img_path=os.path.join(coarse_src, 'leftImg8bit', 'train_extra'),
            seg_map_path=str(tmp_path / 'coarse19/gtCoarse/train_extra'),
        ),
        seg_map_suffix='_gtCoarse_labelTrainIds.png',
        pipeline=[],
    )
    cache = str(tmp_path / 'cache')
    plain = ClassUniformDataset(main, tile=32, cache_dir=cache)
    assert 13 not in plain.classes_with_centroids
    boosted = ClassUniformDataset(
        main,
        tile=32,
        cache_dir=cache,
        boost_dataset=boost,
        boost_classes=[13],
    )
    assert 13 in boosted.classes_with_centroids
    assert boosted.num_boost_centroids == len(boosted.centroids[13]) > 0
    assert len(boosted) == 4  # boost images never enter the random share
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        source, index, centroid, cls = boosted.draw(0, rng)
        if cls == 13:
            assert source is boosted.boost_dataset
            hits += 1
    assert hits > 0
    # a class-13 sample crops around its centroid in the coarse label
    for i in range(200):
        out = boosted[i]
        if (
            out['data_samples']
            .metainfo.get('img_path', '')
            .find('train_extra')
            >= 0
            and (out['data_samples'].gt_sem_seg.data == 13).any()
        ):
            break
    else:
        raise AssertionError('no coarse class-13 crop in 200 samples')
    with pytest.raises(ValueError, match='without a boost_dataset'):
        ClassUniformDataset(main, cache_dir=cache, boost_classes=[13])
    with pytest.raises(ValueError, match=r'boost_classes \[19\] outside'):
        ClassUniformDataset(
            main, cache_dir=cache, boost_dataset=boost, boost_classes=[19]
        )


def test_bad_tile_and_cache_name_the_value(rare_class_root, tmp_path):
    with pytest.raises(ValueError, match='tile must be a positive .* 0'):
        ClassUniformDataset(
            dict(type='CityscapesDataset', data_root=rare_class_root),
            tile=0,
            lazy_init=True,
        )
    # a corrupt cache file: named, with the way out
    dataset = build(rare_class_root, 0.5, str(tmp_path / 'cache'))
    (cache,) = list((tmp_path / 'cache').iterdir())
    cache.write_text('{not json')
    with pytest.raises(ValueError, match=f'{cache.name} is unreadable'):
        build(rare_class_root, 0.5, str(tmp_path / 'cache'))
    # an unwritable cache folder (a file stands where it should be)
    blocker = tmp_path / 'blocker'
    blocker.write_text('')
    with pytest.raises(OSError, match='cannot write the centroid cache'):
        build(rare_class_root, 0.5, str(blocker / 'sub'))
    assert len(dataset) > 0


def test_no_centroids_samples_randomly(rare_class_root, tmp_path):
    dataset = ClassUniformDataset(
        build(rare_class_root, 0.5, str(tmp_path)).dataset,
        uniform_ratio=0.5,
        tile=4096,  # larger than every label: no full tile
        cache_dir=str(tmp_path),
    )
    assert dataset.classes_with_centroids == []
    assert dataset.draw(0, np.random.default_rng(0))[2] is None


def _build_in_process(root, cache, log, out):
    import json

    from mmengine.logging import MMLogger
    from mmseg.utils import register_all_modules

    import sfseg  # noqa: F401

    register_all_modules()
    MMLogger.get_instance(f'cu{os.getpid()}', log_file=log)
    dataset = build(root, 0.5, cache)
    with open(out, 'w') as f:
        json.dump({c: len(v) for c, v in dataset.centroids.items()}, f)


def test_concurrent_builders_compute_once(rare_class_root, tmp_path):
    """4 processes build the same class-uniform dataset from an empty cache
    at once (as the ranks of a distributed job do): all get the same
    centroids, one computed them (on all cores), the others waited for
    it, and one cache file is left."""
    import json
    import multiprocessing as mp

    cache = str(tmp_path / 'cache')
    runs = [
        (
            rare_class_root,
            cache,
            str(tmp_path / f'{i}.log'),
            str(tmp_path / f'{i}.json'),
        )
        for i in range(4)
    ]
    spawn = mp.get_context('spawn')
    procs = [spawn.Process(target=_build_in_process, args=r) for r in runs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    results = [json.load(open(r[3])) for r in runs]
    assert all(r == results[0] for r in results)
    assert results[0][str(RARE)] == 2
    (name,) = os.listdir(cache)
    assert name.startswith('centroids_tile64_') and name.endswith('.json')
    texts = [open(r[2]).read() for r in runs]
    computed = sum('computing the centroids of 100 labels' in t for t in texts)
    assert computed == 1


def test_draws_are_a_function_of_the_sampler_position(
    rare_class_root, tmp_path
):
    dataset = build(rare_class_root, 0.5, str(tmp_path))
    n = len(dataset)
    first = [dataset.sample_of(i)[1:] for i in range(3 * n)]
    assert first == [dataset.sample_of(i)[1:] for i in range(3 * n)]
    # the random half is the sampler's own image
    plain = [(i, s) for i, s in enumerate(first) if s[1] is None]
    assert 0.4 < len(plain) / len(first) < 0.6
    assert all(index == i % n for i, (index, _, _) in plain)
    # a new pass over the data draws anew
    assert sum(first[i] != first[i + n] for i in range(n)) > n // 3
    reseeded = ClassUniformDataset(
        dataset.dataset, tile=64, cache_dir=str(tmp_path), seed=2
    )
    assert [reseeded.sample_of(i)[1:] for i in range(n)] != first[:n]


def _paths_seen(dataset, rank, monkeypatch, iters=6):
    """Image paths of the first ``iters`` batches of ``rank`` of 2."""
    from mmengine.dataset import pseudo_collate
    from mmengine.dataset import sampler as samplers
    from torch.utils.data import DataLoader

    from sfseg.datasets import SFInfiniteSampler

    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (rank, 2))
    loader = DataLoader(
        dataset,
        batch_size=2,
        sampler=SFInfiniteSampler(dataset, seed=0),
        collate_fn=pseudo_collate,
    )
    seen = []
    for _, batch in zip(range(iters), loader):
        seen.append([s.img_path for s in batch['data_samples']])
    return seen


def test_ranks_sample_differently(rare_class_root, tmp_path, monkeypatch):
    """The sampler shards the passes over 2 ranks: in every iteration the
    ranks train on different images (worker counts: the 2-process test in
    test_resume.py)."""
    dataset = build(rare_class_root, 0.5, str(tmp_path))
    rank0 = _paths_seen(dataset, 0, monkeypatch)
    rank1 = _paths_seen(dataset, 1, monkeypatch)
    for a, b in zip(rank0, rank1):
        assert a != b


def test_sampler_counts_passes_over_the_data(rare_class_root, tmp_path):
    import itertools

    from mmengine.dataset import InfiniteSampler

    from sfseg.datasets import SFInfiniteSampler

    dataset = build(rare_class_root, 0.5, str(tmp_path))
    n = len(dataset)
    ours = list(
        itertools.islice(iter(SFInfiniteSampler(dataset, seed=5)), 3 * n)
    )
    theirs = list(
        itertools.islice(iter(InfiniteSampler(dataset, seed=5)), 3 * n)
    )
    assert [i % n for i in ours] == theirs  # mmengine's order
    assert [i // n for i in ours] == [0] * n + [1] * n + [2] * n
    with pytest.raises(TypeError, match='feeds ClassUniformDataset'):
        SFInfiniteSampler(dataset.dataset, seed=0)
