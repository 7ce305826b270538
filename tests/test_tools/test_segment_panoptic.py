"""tools/segment.py on a K-Net panoptic model (issue 27).

The shrunk SF-ResNet-18 K-Net (``shrink_knet``) is trained once per
module with mmdet's Runner on 3 synthetic COCO-panoptic images for 30
iterations (PQ about 58: stuff right, things half right) and tested by
the Runner; ``segment.py``'s PNGs + JSON of the same images must give
the same PQ through ``CocoPanopticMetric``'s own computation.
"""

import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from common import REPO
from panoptic_margins import (
    assert_same_where_decided,
    panoptic_logits,
    undecided_pixels,
)
from tool_loader import load_tool

from sfseg.apis import InputImageError
from sfseg.apis.segment_files import TaskMismatchError, segment
from sfseg.utils import (
    CheckpointMismatchError,
    SFSegUserError,
    UntrustedCheckpointError,
    exit_on_user_error,
)

pytest.importorskip('mmdet')
pytest.importorskip('panopticapi')

main = load_tool('tools/segment.py').main
SF_R18 = osp.join(
    REPO,
    'configs',
    'knet_panoptic',
    'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py',
)
SEMANTIC = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)
ITERS = 30
STEMS = ('toy_0000', 'toy_0001', 'toy_0002')


@pytest.fixture(scope='module')
def knet(tmp_path_factory):
    """Config, checkpoint and toy set of the trained K-Net, and the
    metrics of the Runner's test on the toy images."""
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import sfseg.det  # noqa: F401
    from sfseg.datasets.toy.panoptic import write_toy_panoptic
    from sfseg.official_checks.knet.toy_runs import toy_config

    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('knet_segment')
    data = write_toy_panoptic(
        str(root / 'data'), num_images=3, size=(64, 96), seed=3
    )
    work_dir = str(root / 'work')
    cfg = toy_config(SF_R18, data, work_dir, iters=ITERS, lr=1e-3)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg_path = str(root / 'toy_knet.py')
    cfg.dump(cfg_path)
    # the Runner installs its default scope; restore the session's after
    with DefaultScope.overwrite_default_scope('mmdet'):
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = runner.test()
    return dict(
        root=root,
        data=data,
        cfg=cfg_path,
        ckpt=osp.join(work_dir, f'iter_{ITERS}.pth'),
        metrics=metrics,
    )


def metric_pq(data, out):
    """PQ / SQ / RQ (all, things, stuff) of ``out``'s PNGs + JSON, by
    ``CocoPanopticMetric.compute_metrics``' steps with an ``ann_file``
    (the JSON's image ids, the stems, mapped to the ground truth's)."""
    from mmdet.datasets.api_wrappers import COCOPanoptic
    from mmdet.evaluation.functional import pq_compute_multi_core
    from mmdet.evaluation.metrics.coco_panoptic_metric import (
        parse_pq_results,
    )

    coco = COCOPanoptic(data['ann_file'])
    ids = {osp.splitext(i['file_name'])[0]: k for k, i in coco.imgs.items()}
    with open(osp.join(out, 'panoptic.json')) as f:
        pred = {ids[a['image_id']]: a for a in json.load(f)['annotations']}
    gts = [
        dict(image_id=k, segments_info=v, file_name=coco.imgs[k]['segm_file'])
        for k, v in coco.img_ann_map.items()
    ]
    matched = [(gt, pred[gt['image_id']]) for gt in gts]
    stat = pq_compute_multi_core(
        matched, data['seg_dir'], osp.join(out, 'panoptic'), coco.cats, nproc=1
    )
    results = {}
    for name, isthing in (('All', None), ('Things', True), ('Stuff', False)):
        results[name], _ = stat.pq_average(coco.cats, isthing=isthing)
    return parse_pq_results(results)


def rgb_ids(path):
    from panopticapi.utils import rgb2id

    return rgb2id(cv2.imread(str(path))[:, :, ::-1])


def test_files_evaluate_to_the_runners_pq(knet, tmp_path, capsys):
    out = str(tmp_path / 'out')
    argv = [knet['data']['img_dir'], knet['cfg'], knet['ckpt']]
    code = main(argv + ['--out-dir', out])
    assert code == 0
    printed = capsys.readouterr().out
    assert f'segments in {osp.join(out, "panoptic.json")}' in printed
    assert f'from {knet["data"]["ann_file"]}' in printed  # category ids
    got = metric_pq(knet['data'], out)
    runner = {k.split('/')[1]: v for k, v in knet['metrics'].items()}
    print(f'PQ runner {runner["PQ"]:.4f}, files {got["PQ"]:.4f}')
    assert 10 < runner['PQ'] < 100  # a model that is partly right
    assert got == pytest.approx(runner, abs=1e-9)
    with open(osp.join(out, 'panoptic.json')) as f:
        pred = json.load(f)
    assert pred['categories'] == [
        dict(id=1, name='person', isthing=1),
        dict(id=3, name='car', isthing=1),
        dict(id=149, name='road', isthing=0),
        dict(id=187, name='sky', isthing=0),
    ]
    assert [a['image_id'] for a in pred['annotations']] == list(STEMS)
    for ann in pred['annotations']:
        ids = rgb_ids(osp.join(out, 'panoptic', ann['file_name']))
        assert ids.shape == (64, 96)
        segs = {s['id']: s for s in ann['segments_info']}
        assert set(segs) == set(np.unique(ids).tolist()) - {0}
        for seg_id, seg in segs.items():
            ys, xs = np.nonzero(ids == seg_id)
            assert seg['area'] == len(ys) and seg['iscrowd'] == 0
            assert seg['bbox'] == [
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1,
            ]
    assert sorted(os.listdir(out)) == ['panoptic', 'panoptic.json', 'vis']


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_runtime_backends_write_the_same_segments(knet, tmp_path, backend):
    """``--backend``: the K-Net network exported (dynamic H and W) and
    run in the runtime, the merge in Python: the same panoptic segments
    and classes as PyTorch on every pixel that no threshold decides
    (``panoptic_margins``), and so the same PQ where every pixel is
    decided."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    from sfseg.det.apis.panoptic_model import init_panoptic_model

    argv = [knet['data']['img_dir'], knet['cfg'], knet['ckpt'], '--out-dir']
    assert main(argv + [str(tmp_path / 'pt')]) == 0
    assert main(argv + [str(tmp_path / 'rt'), '--backend', backend]) == 0
    jsons = {}
    for run in ('pt', 'rt'):
        with open(tmp_path / run / 'panoptic.json') as f:
            jsons[run] = json.load(f)
    assert jsons['pt']['categories'] == jsons['rt']['categories']
    image_ids = [
        [a['image_id'] for a in j['annotations']] for j in jsons.values()
    ]
    assert image_ids == [list(STEMS)] * 2
    model = init_panoptic_model(knet['cfg'], knet['ckpt'])
    all_decided = True
    for k, stem in enumerate(STEMS):
        img = cv2.imread(osp.join(knet['data']['img_dir'], stem + '.jpg'))
        cls_score, masks, meta = panoptic_logits(model, img)
        undecided = undecided_pixels(
            model.panoptic_fusion_head, cls_score, masks, meta
        )
        all_decided &= not undecided.any()
        pt, rt = (
            class_ids(tmp_path / run, jsons[run]['annotations'][k], stem)
            for run in ('pt', 'rt')
        )
        assert_same_where_decided(pt, rt, undecided, INSTANCE_OFFSET)
    if all_decided:
        assert metric_pq(knet['data'], str(tmp_path / 'rt')) == pytest.approx(
            metric_pq(knet['data'], str(tmp_path / 'pt'))
        )


def class_ids(out, annotation, stem):
    """A written panoptic PNG as ids ``category + segment * offset``."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    ids = rgb_ids(out / 'panoptic' / f'{stem}.png')
    result = np.full(ids.shape, -1, np.int64)
    for seg in annotation['segments_info']:
        result[ids == seg['id']] = (
            seg['category_id'] + seg['id'] * INSTANCE_OFFSET
        )
    return result


def test_folder_with_a_broken_image(knet, tmp_path, capsys):
    """The broken image is named and skipped (exit status 1); a killed
    and continued run (``--skip-existing``) writes the same JSON, the
    segments of the images done before read back from their PNGs."""
    src = knet['data']['img_dir']
    folder = tmp_path / 'in'
    (folder / 'sub').mkdir(parents=True)
    shutil.copy(osp.join(src, 'toy_0000.jpg'), folder / 'a.jpg')
    shutil.copy(osp.join(src, 'toy_0001.jpg'), folder / 'sub' / 'b.jpg')
    data = (folder / 'a.jpg').read_bytes()
    (folder / 'broken.jpg').write_bytes(data[: len(data) // 2])
    out = tmp_path / 'out'
    argv = [str(folder), knet['cfg'], knet['ckpt'], '--out-dir', str(out)]
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert '2 images segmented, 1 skipped' in printed
    assert f'skipped {folder / "broken.jpg"}: unreadable' in printed
    for stem in ('a', 'sub/b'):
        img = cv2.imread(str(folder / (stem + '.jpg')))
        assert cv2.imread(str(out / 'vis' / (stem + '.png'))).shape == (
            img.shape
        )
        assert rgb_ids(out / 'panoptic' / (stem + '.png')).max() > 0
    assert not (out / 'vis' / 'broken.png').exists()
    with open(out / 'panoptic.json') as f:
        first = json.load(f)
    assert [a['image_id'] for a in first['annotations']] == ['a', 'sub/b']
    os.remove(out / 'vis' / 'a.png')  # as if killed before a's overlay
    assert main(argv + ['--skip-existing']) == 1
    assert '1 images segmented (1 already done), 1 skipped' in (
        capsys.readouterr().out
    )
    with open(out / 'panoptic.json') as f:
        assert json.load(f) == first
    assert not [n for n in os.listdir(out) if n.startswith('.')]


def ground_truth_ids(data, stem):
    """The toy ground truth of ``stem`` as a panoptic prediction (ids
    ``label + n * INSTANCE_OFFSET``, n from 1), whatever the model
    learnt: every segment of the toy layout, things and stuff."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    from sfseg.datasets.toy.panoptic import CATEGORY_IDS, toy_metainfo

    label = {
        CATEGORY_IDS[name]: k
        for k, name in enumerate(toy_metainfo()['classes'])
    }
    with open(data['ann_file']) as f:
        ann = next(
            a
            for a in json.load(f)['annotations']
            if a['file_name'] == stem + '.png'
        )
    gt = rgb_ids(osp.join(data['seg_dir'], stem + '.png'))
    ids = np.full(gt.shape, len(label), np.int64)
    for n, seg in enumerate(ann['segments_info'], 1):
        ids[gt == seg['id']] = label[seg['category_id']] + n * INSTANCE_OFFSET
    return ids


def test_overlay_colours_and_labels(knet, tmp_path):
    """The overlay has each segment's class colour blended in, white
    outlines, and a name drawn on each segment (compared with the same
    overlay without names), for a prediction made of the toy ground
    truth's segments (what the model predicts depends on the CPU it was
    trained on)."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    from mmdet.visualization.palette import get_palette

    from sfseg.det.apis.panoptic_model import init_panoptic_model
    from sfseg.det.apis.panoptic_outputs import PanopticOutputs, segment_index

    model = init_panoptic_model(knet['cfg'], knet['ckpt'])
    outputs = PanopticOutputs(model, str(tmp_path), 0.5, 4096)
    img = cv2.imread(osp.join(knet['data']['img_dir'], 'toy_0000.jpg'))
    assert outputs.predict(img).shape == img.shape[:2]
    ids = ground_truth_ids(knet['data'], 'toy_0000')
    named = outputs.overlay(img, ids, 'x').astype(float)
    plain = outputs.overlay(img, ids, 'x', with_labels=False).astype(float)
    outputs.write(img, ids, 'x')
    written = cv2.imread(str(tmp_path / 'vis' / 'x.png'))[:, :, ::-1]
    assert np.array_equal(written, named.astype(np.uint8))
    rgb = img[:, :, ::-1].astype(float)
    palette = get_palette(model.dataset_meta['palette'], 4)
    segments, index = segment_index(ids, 4)
    assert len(segments) >= 3
    text = np.abs(named - plain).max(-1) > 40
    checked = 0
    for k, (seg_id, label) in enumerate(segments):
        inside = cv2.erode((index == k).astype(np.uint8), np.ones((5, 5)))
        inside = inside.astype(bool) & ~cv2.dilate(
            text.astype(np.uint8), np.ones((5, 5))
        ).astype(bool)
        if inside.sum() < 20:
            continue
        # overlay = image * 0.5 + colour * 0.5 inside the segment
        colour = np.median((named[inside] - 0.5 * rgb[inside]) / 0.5, 0)
        assert np.abs(colour - palette[label]).max() < 8, (seg_id, colour)
        assert np.abs(named[inside] - rgb[inside]).mean() > 10
        # a name near the segment's centre (the largest part's centroid)
        mask = (ids == seg_id).astype(np.uint8)
        _, _, stats, centres = cv2.connectedComponentsWithStats(mask)
        x, y = centres[1 + np.argmax(stats[1:, -1])].round().astype(int)
        assert text[max(0, y - 3) : y + 4, max(0, x - 6) : x + 7].any()
        checked += 1
    assert checked >= 3
    # white outlines between segments in both
    edge = np.zeros(ids.shape, bool)
    edge[:, 1:] = ids[:, 1:] != ids[:, :-1]
    assert plain[edge].mean() > rgb[edge].mean() + 20
    assert named[edge & ~text].mean() > rgb[edge & ~text].mean() + 20
    assert (ids % INSTANCE_OFFSET <= 4).all()


def test_segment_names_number_things():
    from sfseg.det.apis.panoptic_outputs import segment_names

    segments = [(1000, 0), (2000, 0), (3001, 1), (4003, 3)]
    classes = ('person', 'car', 'road', 'sky')
    assert segment_names(segments, classes, 2) == [
        'person 1',
        'person 2',
        'car 1',
        'sky',
    ]


def test_video_and_max_size(knet, tmp_path):
    """A video gives an overlay video; ``--max-size`` segments smaller
    and scales the ids back."""
    src = knet['data']['img_dir']
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(
        video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (96, 64)
    )
    for stem in STEMS:
        writer.write(cv2.imread(osp.join(src, stem + '.jpg')))
    writer.release()
    report = segment(video, knet['cfg'], knet['ckpt'], str(tmp_path / 'v'))
    assert report.kind == 'video' and len(report.done) == 3
    reader = cv2.VideoCapture(str(tmp_path / 'v' / 'clip_overlay.mp4'))
    frames = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 3 and frames[0].shape == (64, 96, 3)
    image = osp.join(src, 'toy_0000.jpg')
    out = tmp_path / 'small'
    segment(image, knet['cfg'], knet['ckpt'], str(out), max_size=48)
    assert rgb_ids(out / 'panoptic' / 'toy_0000.png').shape == (64, 96)


@pytest.mark.parametrize(
    'config, task, model_type',
    [(SEMANTIC, 'panoptic', 'SFEncoderDecoder'), (SF_R18, 'semantic', 'KNet')],
)
def test_task_mismatch_refused(config, task, model_type, knet, tmp_path):
    image = osp.join(knet['data']['img_dir'], 'toy_0000.jpg')
    out = tmp_path / 'o'
    argv = [image, config, knet['ckpt'], '--out-dir', str(out)]
    with pytest.raises(SystemExit) as err, exit_on_user_error():
        main(argv + ['--task', task])
    msg = str(err.value)
    assert msg.startswith('error: ') and f'model type {model_type} is a' in msg
    assert f'--task {task} needs' in msg
    assert not out.exists()


def test_unknown_model_type_refused(knet, tmp_path):
    cfg = tmp_path / 'det.py'
    cfg.write_text("model = dict(type='MaskRCNN', roi_head=dict())\n")
    image = osp.join(knet['data']['img_dir'], 'toy_0000.jpg')
    with pytest.raises(
        TaskMismatchError, match='model type MaskRCNN is neither an mmseg'
    ):
        segment(image, str(cfg), knet['ckpt'], str(tmp_path / 'o'))


@pytest.mark.parametrize(
    'option, message',
    [
        (dict(precision='int8'), 'runs in fp32 only'),
        (dict(fast=True), 'for semantic segmentors only'),
    ],
)
def test_panoptic_options_refused(option, message, knet, tmp_path):
    image = osp.join(knet['data']['img_dir'], 'toy_0000.jpg')
    with pytest.raises(SFSegUserError, match=message):
        segment(image, knet['cfg'], knet['ckpt'], str(tmp_path), **option)


def test_checkpoint_must_fit(knet, tmp_path, code_payload):
    image = osp.join(knet['data']['img_dir'], 'toy_0000.jpg')
    out = tmp_path / 'o'
    ckpt = torch.load(knet['ckpt'], map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    key = next(k for k in state if k.startswith('roi_head'))
    state['extra.weight'] = state.pop(key)
    bad = str(tmp_path / 'bad.pth')
    torch.save(ckpt, bad)
    with pytest.raises(
        CheckpointMismatchError,
        match=f'bad.pth does not fit the model: 1 missing key.*{key}.*'
        '1 unexpected key.*extra.weight',
    ):
        segment(image, knet['cfg'], bad, str(out))
    payload, marker = code_payload
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': payload}, evil)
    with pytest.raises(UntrustedCheckpointError):
        segment(image, knet['cfg'], evil, str(out))
    assert not marker.exists() and not out.exists()
    with pytest.raises(InputImageError, match='input not found'):
        segment(str(tmp_path / 'nope.jpg'), knet['cfg'], bad, str(out))


def test_class_names_from_the_config_without_checkpoint_meta(knet, tmp_path):
    """A checkpoint without ``dataset_meta``: the config's test set names
    the classes (with a warning); a class count that is not the model's
    is refused."""
    from mmengine.config import Config

    from sfseg.det.apis.panoptic_model import init_panoptic_model

    ckpt = torch.load(knet['ckpt'], map_location='cpu', weights_only=False)
    bare = str(tmp_path / 'bare.pth')
    torch.save({'state_dict': ckpt['state_dict']}, bare)
    with pytest.warns(UserWarning, match='no class names'):
        model = init_panoptic_model(knet['cfg'], bare)
    assert model.dataset_meta['classes'] == ('person', 'car', 'road', 'sky')
    cfg = Config.fromfile(knet['cfg'])
    cfg.test_dataloader.dataset.metainfo = dict(
        classes=('person', 'car', 'road'),
        thing_classes=('person', 'car'),
        stuff_classes=('road',),
    )
    with pytest.raises(SFSegUserError, match='2 thing \\+ 2 stuff classes'):
        init_panoptic_model(cfg, bare)
