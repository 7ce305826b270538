"""SF-ResNet-18 K-Net through tools/train.py and tools/test.py (mmdet Runner).

A 3-image synthetic COCO-panoptic set (things and stuff, RGB-encoded ids,
a void band; ``sfseg.datasets.toy.panoptic``) is written once; the
config (shrunk by ``shrink_knet``: 64 channels, 10 proposals, 2 + 2
classes) is trained for 2 iterations on CPU, then tested with ``--out``
so ``CocoPanopticMetric`` keeps its prediction PNGs and JSON.
"""

import json
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
from knet_helpers import REPO
from panopticapi.utils import rgb2id

from sfseg.datasets.toy.panoptic import CATEGORY_IDS, write_toy_panoptic
from sfseg.official_checks.knet.toy_runs import toy_config

SF_R18 = osp.join(
    REPO,
    'configs',
    'knet_panoptic',
    'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py',
)
NUM_IMAGES = 3


def run_tool(name, *argv):
    """Run tools/<name> in-process, as ``python tools/<name> argv``."""
    from mmengine.registry import DefaultScope

    old = sys.argv
    sys.argv = [name, *argv]
    # The runner installs its own default scope; restore the session's.
    with DefaultScope.overwrite_default_scope('mmdet'):
        try:
            runpy.run_path(osp.join(REPO, 'tools', name), run_name='__main__')
        finally:
            sys.argv = old


def read_json_log(work_dir):
    """Records of the runner's ``<timestamp>.json`` log.

    Training writes it to ``<timestamp>/vis_data/``, testing to
    ``<timestamp>/``.
    """
    import glob

    pattern = osp.join(work_dir, '2*', '**', '2*.json')
    (path,) = glob.glob(pattern, recursive=True)
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('knet_runner')
    data = write_toy_panoptic(
        str(root / 'data'), num_images=NUM_IMAGES, size=(64, 96), seed=3
    )
    work_dir = str(root / 'work')
    cfg = toy_config(SF_R18, data, work_dir, iters=2)
    cfg.default_hooks.logger.interval = 1
    cfg_path = str(root / 'toy_knet.py')
    cfg.dump(cfg_path)
    run_tool('train.py', cfg_path, '--work-dir', work_dir)
    return dict(root=root, data=data, cfg=cfg_path, work_dir=work_dir)


def test_toy_set_is_valid_coco_panoptic(trained):
    """Every PNG id is a listed segment with its area; ids use R, G and B."""
    from PIL import Image

    data = trained['data']
    with open(data['ann_file']) as f:
        ann = json.load(f)
    cats = [c['id'] for c in ann['categories']]
    assert cats == [1, 3, 149, 187]
    assert [c['isthing'] for c in ann['categories']] == [1, 1, 0, 0]
    for a in ann['annotations']:
        ids = rgb2id(
            np.asarray(Image.open(osp.join(data['seg_dir'], a['file_name'])))
        )
        listed = {s['id']: s for s in a['segments_info']}
        present, counts = np.unique(ids, return_counts=True)
        assert 0 in present  # the void band
        for seg_id, count in zip(present, counts):
            if seg_id:
                assert listed[int(seg_id)]['area'] == count
        assert set(listed) == set(present.tolist()) - {0}
        assert max(listed) >= 256**2  # the blue channel is used
        cats_here = {s['category_id'] for s in a['segments_info']}
        assert cats_here & {1, 3} and cats_here & {149, 187}


def test_train_two_iterations(trained):
    work_dir = trained['work_dir']
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    records = read_json_log(work_dir)
    train = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2]
    for r in train:
        assert np.isfinite(r['loss']) and r['loss'] > 0
        assert {'loss_rpn_seg', 's2_loss_cls', 's2_loss_mask'} <= set(r)
    # The validation at iteration 2 ran the panoptic metric.
    val = [r for r in records if 'coco_panoptic/PQ' in r]
    assert len(val) == 1


@pytest.fixture(scope='module')
def tested(trained):
    """test.py on the 2-iteration checkpoint whose last stage prefers
    class 0 by a wide margin (a class-0 segment then exists by
    construction, whatever the CPU made of the 2 iterations)."""
    import torch

    from sfseg.utils import load_checkpoint_file

    out = str(trained['root'] / 'pred')
    test_dir = str(trained['root'] / 'test')
    ckpt = load_checkpoint_file(
        osp.join(trained['work_dir'], 'iter_2.pth'), map_location='cpu'
    )
    ckpt['state_dict']['roi_head.mask_head.2.fc_cls.bias'][0] += 20.0
    class0 = str(trained['root'] / 'class0.pth')
    torch.save(ckpt, class0)
    run_tool(
        'test.py',
        trained['cfg'],
        class0,
        '--work-dir',
        test_dir,
        '--out',
        out,
        # After 2 iterations no kernel passes K-Net's thresholds; without
        # them every kernel that owns pixels becomes a segment, which
        # exercises the id encoding (a class-0 segment included).
        '--cfg-options',
        'model.test_cfg.panoptic.overlap_thr=0.0',
        'model.test_cfg.panoptic.instance_score_thr=0.0',
    )
    return dict(out=out, records=read_json_log(test_dir))


def test_test_reports_pq_sq_rq(tested):
    (metrics,) = [r for r in tested['records'] if 'coco_panoptic/PQ' in r]
    for key in ('PQ', 'SQ', 'RQ', 'PQ_th', 'PQ_st'):
        value = metrics[f'coco_panoptic/{key}']
        assert 0.0 <= value <= 100.0, key
    # Per category PQ = SQ x RQ / 100, so the means obey PQ <= SQ, RQ.
    pq = metrics['coco_panoptic/PQ']
    assert pq <= metrics['coco_panoptic/SQ'] + 1e-6
    assert pq <= metrics['coco_panoptic/RQ'] + 1e-6


def test_prediction_pngs_decode_to_valid_segments(tested):
    """PNG ids <-> JSON segments; void is 0 and no segment has id 0."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    from PIL import Image

    out = tested['out']
    with open(osp.join(out, 'results.panoptic.json')) as f:
        pred = json.load(f)
    anns = pred['annotations']
    assert sorted(a['image_id'] for a in anns) == list(range(NUM_IMAGES))
    all_ids = [s['id'] for a in anns for s in a['segments_info']]
    assert len(all_ids) >= NUM_IMAGES
    # A segment of label 0 (person) exists (the checkpoint prefers it);
    # K-Net's counter starting at 0 would have written it as 0, the
    # metric's void.
    assert any(i % INSTANCE_OFFSET == 0 for i in all_ids)
    for a in anns:
        png = np.asarray(
            Image.open(osp.join(out, 'results.panoptic', a['file_name']))
        )
        assert png.shape == (64, 96, 3)
        ids = rgb2id(png)
        segs = {s['id']: s for s in a['segments_info']}
        assert 0 not in segs
        present, counts = np.unique(ids, return_counts=True)
        assert set(segs) == set(present.tolist()) - {0}
        for seg_id, count in zip(present, counts):
            if seg_id:
                seg = segs[int(seg_id)]
                assert seg['area'] == count
                assert seg['category_id'] in CATEGORY_IDS.values()
                # ids are label + k * INSTANCE_OFFSET with k >= 1
                assert seg_id // INSTANCE_OFFSET >= 1
                label = seg_id % INSTANCE_OFFSET
                assert seg['isthing'] == int(label < 2)
