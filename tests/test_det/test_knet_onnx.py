"""K-Net panoptic through ONNX (sfseg.det.deploy) against PyTorch.

A shrunk SF-ResNet-18 K-Net (``shrink_knet``: 64 channels, 10 thing
kernels, 2 + 2 classes) is trained once for 40 iterations on 2 toy
images (64 x 96; PQ about 87 on them, 0 after 20 iterations), exported
at 128 x 160 with dynamic H and W, and run in ONNX Runtime and OpenVINO
at other sizes. Checked:

- network outputs (class and mask logits) within 1e-4 of the largest
  |logit| of PyTorch's (measured about 1e-6), at 64 x 96 and 96 x 128,
  batch 2, and on the preprocessed toy images;
- panoptic results of the toy images: scores and mask probabilities
  within 1e-3 of PyTorch's, and the same class and segments as PyTorch's
  on every pixel that no change of that size could move
  (``panoptic_margins``: a score on ``instance_score_thr``, a kept area
  on ``overlap_thr``, a mask probability on 0.5 or a tie can make a
  segment appear in one runtime only on one CPU and not on another);
- PQ on the toy set (mmdet's CocoPanopticMetric) equal to PyTorch's where
  every pixel is decided, and on the decided pixels otherwise.
"""

import copy
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from knet_helpers import REPO
from panoptic_margins import EPS, assert_same_where_decided, undecided_pixels

from sfseg.datasets.toy.panoptic import toy_metainfo, write_toy_panoptic
from sfseg.official_checks.knet.toy_runs import toy_config

pytest.importorskip('onnxruntime')

SF_R18 = osp.join(
    REPO,
    'configs',
    'knet_panoptic',
    'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py',
)
NUM_IMAGES = 2
TRACED = (128, 160)  # export size; the toy images are 64 x 96
TRAIN_ITERS = 40  # PQ 0 after 20 iterations, about 87 after 40
RTOL = 1e-4  # of the largest |logit|
BACKENDS = [
    'onnxruntime',
    pytest.param(
        'openvino',
        marks=pytest.mark.skipif(
            importlib.util.find_spec('openvino') is None,
            reason='openvino not installed',
        ),
    ),
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The toy set, and the K-Net trained on it (eval mode, ``cfg`` set
    as ``init_detector`` would)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    root = tmp_path_factory.mktemp('knet_onnx')
    data = write_toy_panoptic(
        str(root / 'data'), NUM_IMAGES, size=(64, 96), seed=0
    )
    cfg = toy_config(
        SF_R18, data, str(root / 'work'), iters=TRAIN_ITERS, lr=1e-3
    )
    cfg.train_cfg.val_interval = TRAIN_ITERS + 1  # PQ is computed below
    cfg.default_hooks.checkpoint.interval = -1
    cfg.default_hooks.checkpoint.save_last = False
    with DefaultScope.overwrite_default_scope('mmdet'):
        runner = Runner.from_cfg(cfg)
        runner.train()
    model = runner.model.eval()
    model.cfg = cfg
    images = [
        osp.join(data['img_dir'], f'toy_{i:04d}.jpg')
        for i in range(NUM_IMAGES)
    ]
    return dict(root=root, data=data, model=model, images=images)


@pytest.fixture(scope='module')
def onnx_file(trained):
    from sfseg.det.deploy import export_knet

    path = str(trained['root'] / 'knet.onnx')
    export_knet(trained['model'], path, TRACED)
    return path


@pytest.fixture(scope='module')
def pytorch_results(trained):
    """``inference_detector`` on the toy images (paths and arrays)."""
    import mmcv
    from mmdet.apis import inference_detector
    from mmengine.registry import DefaultScope

    model = trained['model']
    with DefaultScope.overwrite_default_scope('mmdet'):
        # Paths first: an array call writes LoadImageFromNDArray into
        # model.cfg's test pipeline (mmdet 3.3 copies the config shallowly).
        paths = [inference_detector(model, p) for p in trained['images']]
        arrays = [
            inference_detector(model, mmcv.imread(p))
            for p in trained['images']
        ]
    return dict(paths=paths, arrays=arrays)


def _segments(sample):
    """{panoptic id: (label, bool mask)} of a result, void left out."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    pan = sample.pred_panoptic_seg.sem_seg[0].numpy()
    void = len(toy_metainfo()['classes'])
    return {
        int(i): (int(i % INSTANCE_OFFSET), pan == i)
        for i in np.unique(pan)
        if i % INSTANCE_OFFSET != void
    }


def _undecided(trained, network, path):
    """Undecided pixels of ``path``'s PyTorch result; asserts that the
    runtime's scores and mask probabilities are within ``EPS`` of
    PyTorch's, which is what the margins assume."""
    import mmcv

    model = trained['model']
    head = model.panoptic_fusion_head
    inputs, samples = network.preprocess(mmcv.imread(path))
    meta = samples[0].metainfo
    with torch.no_grad():
        cls_score, masks = (t[0] for t in model.predict_logits(inputs))
    got_cls, got_masks = (t[0] for t in network.forward(inputs))
    assert float((got_cls.sigmoid() - cls_score.sigmoid()).abs().max()) < EPS
    probs = head.mask_probs(masks, meta)
    got_probs = head.mask_probs(got_masks, meta)
    assert float((got_probs - probs).abs().max()) < EPS
    return undecided_pixels(head, cls_score, masks, meta)


def _with_void(sample, undecided):
    """A copy of a result with the undecided pixels made void."""
    void = len(toy_metainfo()['classes'])
    sample = copy.deepcopy(sample)
    sample.pred_panoptic_seg.sem_seg[0][torch.from_numpy(undecided)] = void
    return sample


def _panoptic_quality(samples, data):
    """PQ of results for the toy images, with mmdet's metric."""
    from mmdet.evaluation.metrics import CocoPanopticMetric

    metric = CocoPanopticMetric(
        ann_file=data['ann_file'], seg_prefix=data['seg_dir'] + '/', nproc=1
    )
    metric.dataset_meta = toy_metainfo()
    for i, sample in enumerate(samples):
        # the metric voids ids in place: work on a copy of the tensors
        sample = copy.deepcopy(sample)
        sample.set_metainfo(dict(img_id=i))
        metric.process({}, [sample.to_dict()])
    return metric.evaluate(len(samples))['coco_panoptic/PQ']


def test_dynamic_conv_export_equals_grouped_conv():
    from sfseg.det.deploy import dynamic_conv_export
    from sfseg.det.knet import KernelUpdateHead

    gen = torch.Generator().manual_seed(0)
    for k in (1, 3):
        x = torch.randn(2, 8, 12, 20, generator=gen)
        kernels = torch.randn(2, 5, 8, k, k, generator=gen)
        ref = KernelUpdateHead.mask_conv(x, kernels)
        got = dynamic_conv_export(x, kernels, k)
        assert got.shape == (2, 5, 12, 20)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_unpack_outputs_splits_by_input_size():
    from sfseg.det.deploy import pack_outputs, unpack_outputs

    cls_score = torch.randn(2, 7, 4)
    masks = torch.randn(2, 7, 16, 24)
    packed = pack_outputs(cls_score, masks)
    assert packed.shape == (2, 7, 4 + 16 * 24)
    got_cls, got_masks = unpack_outputs(packed, 4, (64, 96))
    assert torch.equal(got_cls, cls_score) and torch.equal(got_masks, masks)
    with pytest.raises(ValueError, match='integer stride'):
        unpack_outputs(packed[..., :-1], 4, (64, 96))


def test_export_copy_keeps_eager_outputs_and_model(trained):
    from sfseg.det.deploy import ExportKernelUpdateHead, prepare_for_export
    from sfseg.det.knet import KernelUpdateHead

    model = trained['model']
    copy = prepare_for_export(model)
    heads = copy.roi_head.mask_head
    assert all(type(h) is ExportKernelUpdateHead for h in heads)
    assert all(type(h) is KernelUpdateHead for h in model.roi_head.mask_head)
    x = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for ref, got in zip(model.predict_logits(x), copy.predict_logits(x)):
            assert torch.equal(ref, got)


def test_graph_has_dynamic_batch_height_width(onnx_file):
    import onnx

    graph = onnx.load(onnx_file).graph
    dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ['batch', '', 'height', 'width']
    assert [n.name for n in graph.output] == ['output']
    ops = {n.op_type for n in graph.node}
    assert 'GridSample' in ops  # SFNet's flow warps
    assert 'MatMul' in ops


@pytest.mark.parametrize('backend', BACKENDS)
def test_network_outputs_match_pytorch_at_other_sizes(
    trained, onnx_file, backend
):
    """Traced at 128 x 160; run at 64 x 96 and 96 x 128 (batch 2) and on
    the preprocessed toy images."""
    from sfseg.det.deploy import open_knet_runtime

    model = trained['model']
    network = open_knet_runtime(model, backend, onnx_file)
    gen = torch.Generator().manual_seed(0)
    inputs = [
        torch.randn(2, 3, 64, 96, generator=gen),
        torch.randn(2, 3, 96, 128, generator=gen),
    ]
    inputs += [network.preprocess(p)[0] for p in trained['images']]
    for x in inputs:
        with torch.no_grad():
            refs = model.predict_logits(x)
        gots = network.forward(x)
        for name, ref, got in zip(('cls_score', 'mask_preds'), refs, gots):
            assert got.shape == ref.shape, name
            diff = float((got - ref).abs().max())
            largest = float(ref.abs().max())
            assert diff <= RTOL * largest, (backend, name, x.shape, diff)


def test_pytorch_split_equals_inference_detector(trained, pytorch_results):
    """Preprocess + ``predict_logits`` + ``merge_panoptic`` is exactly
    the PyTorch path the runtime network reproduces."""
    import mmcv

    from sfseg.det.deploy import KNetPanopticNetwork

    network = KNetPanopticNetwork(trained['model'])
    for path, ref in zip(trained['images'], pytorch_results['arrays']):
        got = network.predict(mmcv.imread(path))
        assert torch.equal(
            got.pred_panoptic_seg.sem_seg, ref.pred_panoptic_seg.sem_seg
        )
        assert got.metainfo['ori_shape'] == ref.metainfo['ori_shape']


@pytest.mark.parametrize('backend', BACKENDS)
def test_panoptic_masks_match_pytorch(
    trained, onnx_file, pytorch_results, backend
):
    """Same class and segments as PyTorch on every decided pixel."""
    import mmcv
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    from sfseg.det.deploy import open_knet_runtime

    network = open_knet_runtime(trained['model'], backend, onnx_file)
    for path, ref in zip(trained['images'], pytorch_results['arrays']):
        got = network.predict(mmcv.imread(path))
        sem_seg = got.pred_panoptic_seg.sem_seg
        assert sem_seg.shape == (1, 64, 96) and sem_seg.dtype == torch.int32
        undecided = _undecided(trained, network, path)
        decided = assert_same_where_decided(
            ref.pred_panoptic_seg.sem_seg[0],
            sem_seg[0],
            undecided,
            INSTANCE_OFFSET,
        )
        print(f'{backend} {osp.basename(path)}: {decided:.1%} decided')
        assert decided > 0.5


@pytest.mark.parametrize('backend', BACKENDS)
def test_pq_equals_pytorch(trained, onnx_file, pytorch_results, backend):
    """PQ as PyTorch's, over the pixels decided in every image (all of
    them where no decision sits on a threshold)."""
    from sfseg.det.deploy import open_knet_runtime

    network = open_knet_runtime(trained['model'], backend, onnx_file)
    runtime = [network.predict(p) for p in trained['images']]
    undecided = [_undecided(trained, network, p) for p in trained['images']]
    pq_pytorch = _panoptic_quality(pytorch_results['paths'], trained['data'])
    assert pq_pytorch > 50
    if not any(u.any() for u in undecided):
        pq_runtime = _panoptic_quality(runtime, trained['data'])
        assert pq_runtime == pytest.approx(pq_pytorch, abs=1e-9)
    pairs = zip(pytorch_results['paths'], runtime, undecided)
    ref, got = zip(
        *[(_with_void(r, u), _with_void(g, u)) for r, g, u in pairs]
    )
    assert _panoptic_quality(got, trained['data']) == pytest.approx(
        _panoptic_quality(ref, trained['data']), abs=1e-9
    )


def test_build_knet_runtime_exports_once(trained, tmp_path):
    from sfseg.det.deploy import build_knet_runtime

    work_dir = str(tmp_path / 'deploy')
    network, path = build_knet_runtime(
        trained['model'], 'onnxruntime', work_dir, shape=(64, 64)
    )
    assert path == osp.join(work_dir, 'knet.onnx')
    stamp = osp.getmtime(path)
    sample = network.predict(trained['images'][0])
    assert sample.pred_panoptic_seg.sem_seg.shape == (1, 64, 96)
    again, _ = build_knet_runtime(trained['model'], 'onnxruntime', work_dir)
    assert osp.getmtime(path) == stamp
    assert torch.equal(
        again.predict(trained['images'][0]).pred_panoptic_seg.sem_seg,
        sample.pred_panoptic_seg.sem_seg,
    )


def test_no_int8_knet_graph(trained, onnx_file):
    from sfseg.det.deploy import open_knet_runtime
    from sfseg.utils.user_errors import SFSegUserError

    with pytest.raises(SFSegUserError, match='int8'):
        open_knet_runtime(
            trained['model'], 'openvino', onnx_file, None, 'int8'
        )


def test_gather_warp_graph_has_no_gridsample(trained, tmp_path):
    """``warp='gather'``: the SF neck's flow warps without GridSample;
    the network's outputs and the panoptic maps as with GridSample."""
    import onnx
    from mmdet.evaluation.functional import INSTANCE_OFFSET

    from sfseg.det.deploy import (
        KNetPanopticNetwork,
        export_knet,
        open_knet_runtime,
    )

    path = str(tmp_path / 'knet.gather.onnx')
    export_knet(trained['model'], path, TRACED, warp='gather')
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'GridSample' not in ops and 'Gather' in ops
    network = open_knet_runtime(trained['model'], 'onnxruntime', path)
    x = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        refs = trained['model'].predict_logits(x)
    for ref, got in zip(refs, network.forward(x)):
        assert float((got - ref).abs().max()) <= RTOL * float(ref.abs().max())
    pytorch = KNetPanopticNetwork(trained['model'])
    for img in trained['images']:
        got = network.predict(img).pred_panoptic_seg.sem_seg
        want = pytorch.predict(img).pred_panoptic_seg.sem_seg
        undecided = _undecided(trained, network, img)
        assert_same_where_decided(want[0], got[0], undecided, INSTANCE_OFFSET)
    with pytest.raises(ValueError, match='GridSample graphs are written'):
        export_knet(trained['model'], path, TRACED, opset=20)
