"""K-Net panoptic inference with the network in ONNX Runtime or OpenVINO.

:class:`KNetPanopticNetwork` runs what ``mmdet.apis.inference_detector``
runs for a K-Net, in three parts:

1. the detector's own preprocessing in Python: the config's test
   pipeline (first step ``LoadImageFromNDArray`` for arrays, as
   ``inference_detector`` does) and the data preprocessor;
2. the network: ``KNet.predict_logits`` in PyTorch, or the graph of
   :func:`~.onnx_export.export_knet` in a runtime
   (:func:`sfseg.deploy.runtimes.open_runtime`);
3. the thing/stuff merge in Python: ``sfseg.det.knet.merge_panoptic``
   with the detector's fusion head, the function ``KNet.predict`` calls.

``predict(img)`` returns a ``DetDataSample`` with ``pred_panoptic_seg``
like ``inference_detector``, so it can stand in for the detector
wherever a predictor is expected (``tools/segment.py``'s panoptic path).
"""

import copy
import os
import os.path as osp

import numpy as np
import torch

from sfseg.deploy.runtimes import open_runtime
from sfseg.det.knet import merge_panoptic
from sfseg.utils.user_errors import SFSegUserError

from .network import unpack_outputs
from .onnx_export import export_knet


def inference_pipeline(cfg, from_array=True):
    """``inference_detector``'s test pipeline, built in mmdet's scope,
    without the annotation loading of the test set (an image to segment
    has none).

    Works on a copy: ``inference_detector`` itself writes
    ``LoadImageFromNDArray`` into the model's config (a shallow copy),
    which a later call with a path would trip over, so the loading step
    is set both ways here.
    """
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.registry import DefaultScope

    pipeline = [
        step
        for step in copy.deepcopy(get_test_pipeline_cfg(cfg))
        if not (
            'Annotation' in step['type'] and step['type'].startswith('Load')
        )
    ]
    if from_array:
        pipeline[0].type = 'mmdet.LoadImageFromNDArray'
    elif pipeline[0].type.split('.')[-1] == 'LoadImageFromNDArray':
        pipeline[0].type = 'LoadImageFromFile'
    with DefaultScope.overwrite_default_scope('mmdet'):
        return Compose(pipeline)


class KNetPanopticNetwork:
    """``predict(img) -> DetDataSample`` of a K-Net detector.

    Args:
        model (KNet): The built detector; its ``cfg`` (set by
            ``init_detector``), data preprocessor and fusion head are
            used. With ``runner`` its weights are not.
        runner (callable, optional): Takes the normalised (B, 3, H, W)
            float32 array and returns the packed (B, N+S, T+S + h*w)
            array of :func:`~.onnx_export.export_knet`'s graph, as the
            runners of :func:`sfseg.deploy.runtimes.open_runtime` do.
            Default: the network in PyTorch (``model.predict_logits``).
        cfg (Config, optional): Config with the test pipeline; default
            ``model.cfg``.

    Shape:
        - img: (H, W, 3) BGR uint8, as mmcv reads it, or an image path
        - predict output: ``pred_panoptic_seg.sem_seg`` (1, H, W) int32
          ids ``label + id * INSTANCE_OFFSET`` at the image's size
    """

    def __init__(self, model, runner=None, cfg=None):
        self.cfg = cfg if cfg is not None else model.cfg
        self.preprocessor = model.data_preprocessor
        self.fusion_head = model.panoptic_fusion_head
        self.num_classes = self.fusion_head.num_classes
        self.runner = runner
        self.model = model if runner is None else None
        self._pipelines = {}

    def preprocess(self, img):
        """(inputs (1, 3, H, W), [DetDataSample]) as the detector's
        ``test_step`` hands them to ``predict``."""
        from_array = isinstance(img, np.ndarray)
        pipeline = self._pipelines.get(from_array)
        if pipeline is None:
            pipeline = inference_pipeline(self.cfg, from_array)
            self._pipelines[from_array] = pipeline
        key = 'img' if from_array else 'img_path'
        data = pipeline({key: img, 'img_id': 0})
        batch = dict(
            inputs=[data['inputs']], data_samples=[data['data_samples']]
        )
        with torch.no_grad():
            batch = self.preprocessor(batch, False)
        return batch['inputs'], batch['data_samples']

    def forward(self, inputs):
        """The network: (B, 3, H, W) -> cls_score, mask_preds (tensors)."""
        if self.runner is None:
            with torch.no_grad():
                return self.model.predict_logits(inputs)
        array = inputs.float().cpu().numpy()
        packed = torch.from_numpy(np.asarray(self.runner(array)))
        return unpack_outputs(packed, self.num_classes, array.shape[-2:])

    def predict(self, img):
        """Panoptic result of one image (``DetDataSample``)."""
        inputs, samples = self.preprocess(img)
        cls_score, mask_preds = self.forward(inputs)
        with torch.no_grad():
            merge_panoptic(
                self.fusion_head, cls_score, mask_preds, samples, rescale=True
            )
        return samples[0]


def open_knet_runtime(
    model, backend, onnx_file, threads=None, precision='fp32', cfg=None
):
    """A :class:`KNetPanopticNetwork` whose network runs ``onnx_file``
    (from :func:`~.onnx_export.export_knet`) in ``backend``
    (``'onnxruntime'`` or ``'openvino'``); ``precision`` ``'fp32'``, or
    ``'bf16'`` for OpenVINO (no int8 K-Net graph exists)."""
    if precision == 'int8':
        raise SFSegUserError(
            'K-Net has no int8 graph; use --precision fp32 (or bf16 with '
            'OpenVINO)'
        )
    runner = open_runtime(backend, onnx_file, threads, precision)
    return KNetPanopticNetwork(model, runner, cfg)


def build_knet_runtime(
    model,
    backend,
    work_dir,
    threads=None,
    precision='fp32',
    shape=(512, 512),
    opset=17,
):
    """``(network, onnx file)``: ``model`` with its network in ``backend``.

    Exports ``<work_dir>/knet.onnx`` (dynamic H and W, traced at
    ``shape``) unless it exists, then opens it with
    :func:`open_knet_runtime` (``threads``, ``precision``).
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'knet.onnx')
    if not osp.exists(path):
        export_knet(model, path, shape, opset=opset)
    return open_knet_runtime(model, backend, path, threads, precision), path
