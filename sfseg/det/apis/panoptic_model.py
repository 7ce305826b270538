"""The mmdet panoptic model behind ``tools/segment.py``'s panoptic path.

- :func:`init_panoptic_model` builds the detector of a config (K-Net...)
  and loads its checkpoint strictly and weights-only, like
  :func:`sfseg.apis.init_model` (mmdet's ``init_detector`` loads
  non-strictly: a checkpoint of another model would run half random);
- :class:`DetectorPredictor`: the PyTorch detector as the predictor of
  :class:`~sfseg.det.apis.panoptic_outputs.PanopticOutputs` (an image in,
  panoptic ids out), which another runtime can stand in for;
- :func:`category_ids`: the COCO category id of each class.

Imports mmdet; :mod:`sfseg.apis.segment_files` imports it only for a
panoptic config, so ``import sfseg.apis`` stays free of mmdet.
"""

import copy
import json
import os.path as osp
import warnings

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope

from sfseg.det.deploy.runtime_network import inference_pipeline
from sfseg.utils import SFSegUserError, load_weights_strictly, resolve_config


def num_classes_of(model):
    """``(things, stuff)`` class counts of a panoptic detector; labels
    below ``things`` are things (mmdet's convention)."""
    head = model.panoptic_fusion_head
    return head.num_things_classes, head.num_stuff_classes


def panoptic_meta(checkpoint, cfg, model):
    """``classes`` and ``palette`` as mmdet's ``init_detector`` reads them
    (the checkpoint's ``dataset_meta``, else the config's test data set),
    checked against the model's class count."""
    meta = (checkpoint.get('meta') or {}).get('dataset_meta')
    if meta:
        meta = {k.lower(): v for k, v in meta.items()}
    else:
        from mmdet.registry import DATASETS

        dataset = copy.deepcopy(cfg.test_dataloader.dataset)
        dataset['lazy_init'] = True  # the metainfo only, no annotations
        with DefaultScope.overwrite_default_scope('mmdet'):
            meta = dict(DATASETS.build(dataset).metainfo)
        warnings.warn(
            'the checkpoint has no class names; using those of the '
            "config's test data set"
        )
    things, stuff = num_classes_of(model)
    classes = tuple(meta.get('classes') or ())
    if len(classes) != things + stuff:
        raise SFSegUserError(
            f'the model has {things} thing + {stuff} stuff classes, its '
            f'class names {len(classes)}: {classes[:5]}...'
        )
    meta['classes'] = classes
    meta.setdefault('palette', 'random')
    return meta


def init_panoptic_model(config, checkpoint, device='cpu'):
    """An mmdet panoptic detector of ``config`` (a file, an sfseg config
    name or a ``Config``) with the weights of ``checkpoint``, which must
    fit it exactly; ``model.dataset_meta`` holds the class names and
    palette, ``model.cfg`` the config."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import sfseg.det  # noqa: F401 (K-Net into mmdet's registries)

    if not isinstance(config, Config):
        config = Config.fromfile(resolve_config(config))
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(config.model)
    loaded = load_weights_strictly(model, checkpoint)
    model.dataset_meta = panoptic_meta(loaded, config, model)
    model.cfg = config
    return revert_sync_batchnorm(model).to(device).eval()


def category_ids(model):
    """The COCO category id of each class and where they come from:
    ``model.dataset_meta['category_ids']`` if the checkpoint has them;
    else those of the config's test annotation file (as
    ``CocoPanopticMetric`` maps them: by class name), if that file is
    here; else 1..K in class order."""
    classes = model.dataset_meta['classes']
    ids = model.dataset_meta.get('category_ids')
    if ids is not None and len(ids) == len(classes):
        return [int(i) for i in ids], 'the checkpoint'
    evaluator = model.cfg.get('test_evaluator') or {}
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0] if evaluator else {}
    ann_file = evaluator.get('ann_file')
    if ann_file and osp.isfile(ann_file):
        with open(ann_file) as f:
            by_name = {c['name']: c['id'] for c in json.load(f)['categories']}
        if all(name in by_name for name in classes):
            return [by_name[name] for name in classes], ann_file
    return list(range(1, len(classes) + 1)), 'class order (1..K)'


class DetectorPredictor:
    """The PyTorch detector as a panoptic predictor: called with a BGR
    image, returns its ``H x W`` int64 panoptic ids at the image's size
    (``label + k * INSTANCE_OFFSET``, void = the number of classes), as
    the detector's ``pred_panoptic_seg`` holds them.

    Another runtime (e.g. an ONNX Runtime network) is plugged into
    :class:`~sfseg.det.apis.panoptic_outputs.PanopticOutputs` by an object
    with the same call.
    """

    def __init__(self, model):
        self.model = model
        self.pipeline = inference_pipeline(model.cfg)  # from a BGR array

    def __call__(self, img):
        with DefaultScope.overwrite_default_scope('mmdet'):
            data = self.pipeline(dict(img=img, img_id=0))
            batch = dict(
                inputs=[data['inputs']], data_samples=[data['data_samples']]
            )
            with torch.no_grad():
                (sample,) = self.model.test_step(batch)
        return sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()


class RuntimePredictor:
    """A K-Net with its network in ONNX Runtime or OpenVINO
    (:func:`sfseg.det.deploy.build_knet_runtime`: exported into a
    temporary folder, dynamic height and width) as a panoptic predictor
    with :class:`DetectorPredictor`'s call; the merge is the detector's
    own (``sfseg.det.knet.merge_panoptic``)."""

    def __init__(self, model, backend, precision='fp32', threads=None):
        import tempfile

        from sfseg.det.deploy import build_knet_runtime

        self._dir = tempfile.TemporaryDirectory(prefix='sfseg-knet-')
        self.network, self.file = build_knet_runtime(
            model, backend, self._dir.name, threads, precision
        )

    def __call__(self, img):
        sample = self.network.predict(img)
        return sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()
