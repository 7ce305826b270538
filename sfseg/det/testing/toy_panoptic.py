"""A tiny synthetic COCO-panoptic set and a K-Net config for it on CPU.

For tests, tools and checks that need a K-Net panoptic model to train,
test or export end to end without a data set:

- :func:`write_toy_panoptic` writes the images, panoptic PNGs and the
  COCO-panoptic JSON: two stuff classes (``sky`` above ``road``), 2-3
  ``person`` / ``car`` instances and a void band at the bottom, with
  ids ``R + 256 G + 256^2 B``;
- :func:`toy_metainfo`, :data:`CATEGORY_IDS`: its classes (things first,
  as K-Net expects) and their non-contiguous COCO-style ids;
- :func:`shrink_knet` shrinks any K-Net panoptic model config for 2 + 2
  classes and CPU speed;
- :func:`toy_config` turns a K-Net config into an mmdet Runner config
  that trains, validates and tests on such a set.

Used by ``tools/analysis_tools/knet_overfit.py`` (through
:mod:`.overfit`) and the K-Net runner tests.
"""

import json
import os
import os.path as osp

import numpy as np

THING_CLASSES = ('person', 'car')
STUFF_CLASSES = ('road', 'sky')
# Non-contiguous ids like COCO's; things first, as K-Net expects.
CATEGORY_IDS = {'person': 1, 'car': 3, 'road': 149, 'sky': 187}
# Colours of the synthetic image per class (RGB), noise is added on top.
CLASS_RGB = {
    'person': (230, 200, 40),
    'car': (200, 30, 30),
    'road': (110, 110, 110),
    'sky': (70, 130, 220),
}


def toy_metainfo():
    """``metainfo`` for ``CocoPanopticDataset`` on the toy set."""
    return dict(
        classes=THING_CLASSES + STUFF_CLASSES,
        thing_classes=THING_CLASSES,
        stuff_classes=STUFF_CLASSES,
    )


def _toy_layout(h, w, rng):
    """Segments of one image: list of (class name, bool mask (H, W))."""
    horizon = int(h * rng.uniform(0.35, 0.55))
    void_rows = max(2, h // 16)
    sky = np.zeros((h, w), bool)
    sky[:horizon] = True
    road = np.zeros((h, w), bool)
    road[horizon : h - void_rows] = True
    things = []
    # Things sit in separate vertical slots so instances never touch.
    num_things = int(rng.integers(2, 4))
    slot = w // num_things
    for k in range(num_things):
        name = THING_CLASSES[int(rng.integers(0, 2))]
        if name == 'car':
            bh, bw = int(h * 0.25), int(slot * 0.7)
        else:
            bh, bw = int(h * 0.45), int(slot * 0.4)
        x0 = k * slot + int(rng.integers(1, max(2, slot - bw - 1)))
        y1 = int(rng.integers(horizon + 2, h - void_rows))
        y0 = max(1, y1 - bh)
        mask = np.zeros((h, w), bool)
        mask[y0:y1, x0 : x0 + bw] = True
        things.append((name, mask))
    covered = np.zeros((h, w), bool)
    for _, m in things:
        covered |= m
    segments = [(n, m) for n, m in things]
    segments += [('sky', sky & ~covered), ('road', road & ~covered)]
    return [(n, m) for n, m in segments if m.any()]


def write_toy_panoptic(root, num_images=2, size=(64, 96), seed=0):
    """Write a tiny COCO-panoptic set under ``root``.

    Layout: ``images/toy_XXXX.jpg``, ``panoptic/toy_XXXX.png`` (RGB-encoded
    segment ids, 0 = void) and ``annotations/panoptic.json`` (images,
    annotations with ``segments_info``, categories things first).

    Args:
        root (str): Output folder, created if missing.
        num_images (int): Number of images (image ids ``0..n-1``).
        size (tuple[int, int]): Image size (H, W).
        seed (int): Seed of the layouts and the image noise; the same
            arguments write the same files.

    Returns:
        dict: ``ann_file``, ``img_dir``, ``seg_dir`` (absolute paths) and
        ``segments`` (total number of segments).
    """
    from panopticapi.utils import id2rgb
    from PIL import Image

    h, w = size
    rng = np.random.default_rng(seed)
    for sub in ('images', 'panoptic', 'annotations'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    images, annotations, total = [], [], 0
    for i in range(num_images):
        name = f'toy_{i:04d}'
        ids = np.zeros((h, w), np.int64)
        img = np.zeros((h, w, 3), np.float64)
        segments_info = []
        for k, (cls, mask) in enumerate(_toy_layout(h, w, rng)):
            cat = CATEGORY_IDS[cls]
            # Use all three RGB channels of the encoding.
            seg_id = 256**2 * (k + 1) + 256 * (cat % 256) + 1 + i
            ids[mask] = seg_id
            img[mask] = CLASS_RGB[cls]
            ys, xs = np.nonzero(mask)
            segments_info.append(
                dict(
                    id=int(seg_id),
                    category_id=cat,
                    area=int(mask.sum()),
                    bbox=[
                        int(xs.min()),
                        int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1),
                    ],
                    iscrowd=0,
                )
            )
        img += rng.normal(0, 12, img.shape)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(
            osp.join(root, 'images', name + '.jpg'), quality=95
        )
        Image.fromarray(id2rgb(ids)).save(
            osp.join(root, 'panoptic', name + '.png')
        )
        images.append(dict(id=i, file_name=name + '.jpg', height=h, width=w))
        annotations.append(
            dict(
                image_id=i,
                file_name=name + '.png',
                segments_info=segments_info,
            )
        )
        total += len(segments_info)
    categories = [
        dict(
            id=CATEGORY_IDS[n],
            name=n,
            supercategory=n,
            isthing=int(n in THING_CLASSES),
        )
        for n in THING_CLASSES + STUFF_CLASSES
    ]
    ann_file = osp.join(root, 'annotations', 'panoptic.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(
                images=images,
                annotations=annotations,
                categories=categories,
            ),
            f,
        )
    return dict(
        ann_file=osp.abspath(ann_file),
        img_dir=osp.abspath(osp.join(root, 'images')),
        seg_dir=osp.abspath(osp.join(root, 'panoptic')),
        segments=total,
    )


def shrink_knet(model, channels=64, num_proposals=10, width=16):
    """Shrink a K-Net model config in place for CPU runs on the toy set.

    2 things + 2 stuff classes, ``num_proposals`` thing kernels,
    ``channels`` neck/head channels (a multiple of 32 for K-Net's
    GroupNorm(32)), a ResNet backbone ``width`` channels wide at stride 4,
    and BN instead of SyncBN (one CPU process). Other backbones keep
    their width.

    Args:
        model (ConfigDict): ``cfg.model`` of a K-Net panoptic config
            (FPN or SFNeck neck), changed in place.
        channels (int): Neck and head channels.
        num_proposals (int): Thing kernels.
        width (int): ``base_channels`` of a ResNet / SFResNetD backbone.

    Returns:
        ConfigDict: ``model``.
    """
    if channels % 32:
        raise ValueError(f'channels must be a multiple of 32, got {channels}')
    nt, ns = len(THING_CLASSES), len(STUFF_CLASSES)
    split = dict(num_things_classes=nt, num_stuff_classes=ns)
    bn = dict(type='BN', requires_grad=True)
    backbone = model.backbone
    if backbone.type in ('SFResNetD', 'ResNet'):
        backbone.base_channels = width
        if backbone.type == 'SFResNetD':
            backbone.stem_channels = 2 * width
        expansion = 1 if backbone.depth < 50 else 4
        model.neck.in_channels = [width * expansion * 2**i for i in range(4)]
    backbone.norm_cfg = bn
    if 'norm_cfg' in model.neck:
        model.neck.norm_cfg = bn
    if model.neck.type == 'SFNeck':
        model.neck.channels = channels
    else:
        model.neck.out_channels = channels
    model.update(split)
    rpn = model.rpn_head
    rpn.update(
        split,
        num_proposals=num_proposals,
        in_channels=channels,
        out_channels=channels,
    )
    rpn.localization_fpn.update(
        in_channels=channels, feat_channels=channels, out_channels=channels
    )
    rpn.localization_fpn.positional_encoding.num_feats = channels // 2
    model.roi_head.update(
        split,
        proposal_feature_channel=channels,
        num_proposals=num_proposals,
    )
    for head in model.roi_head.mask_head:
        head.update(
            split,
            in_channels=channels,
            out_channels=channels,
            feedforward_channels=4 * channels,
        )
        head.kernel_updator_cfg.update(
            in_channels=channels, feat_channels=channels, out_channels=channels
        )
    model.panoptic_fusion_head.update(split, num_proposals=num_proposals)
    model.test_cfg.panoptic.max_per_img = num_proposals
    return model


def toy_config(
    config,
    data,
    work_dir,
    iters=2,
    eval_interval=None,
    lr=None,
    batch_size=2,
    outfile_prefix=None,
    shrink=True,
    seed=0,
):
    """Turn a K-Net config into a CPU run on the toy set from ``data``.

    Args:
        config (str | Config): K-Net panoptic config: a path or an sfseg
            config name (:func:`sfseg.utils.resolve_config`), or a loaded
            config, which is changed in place.
        data (dict): Output of :func:`write_toy_panoptic`.
        work_dir (str): Runner work dir.
        iters (int): Training iterations (``IterBasedTrainLoop``).
        eval_interval (int, optional): Validation interval; default
            ``iters``. Validation and test use the training images.
        lr (float, optional): AdamW learning rate (config's by default);
            constant after a 10-iteration warm-up.
        batch_size (int): Training batch size.
        outfile_prefix (str, optional): ``CocoPanopticMetric`` prefix of
            the test evaluator; its prediction PNGs go to
            ``<prefix>.panoptic/``.
        shrink (bool): Apply :func:`shrink_knet`.
        seed (int): Runner seed.

    Returns:
        Config: ready for ``Runner.from_cfg`` or ``Config.dump``.
    """
    from mmengine.config import Config

    from sfseg.utils import resolve_config

    if isinstance(config, str):
        cfg = Config.fromfile(resolve_config(config))
    else:
        cfg = config
    if shrink:
        shrink_knet(cfg.model)
    root = osp.dirname(data['img_dir'])
    dataset = dict(
        type='CocoPanopticDataset',
        data_root=root,
        ann_file=data['ann_file'],
        data_prefix=dict(img='images/', seg='panoptic/'),
        metainfo=toy_metainfo(),
        backend_args=None,
    )
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(
            type='PackDetInputs',
            meta_keys=(
                'img_id',
                'img_path',
                'ori_shape',
                'img_shape',
                'scale_factor',
            ),
        ),
    ]
    loader = dict(num_workers=0, persistent_workers=False)
    cfg.train_dataloader = dict(
        batch_size=batch_size,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(dataset, pipeline=train_pipeline, filter_cfg=None),
        **loader,
    )
    cfg.val_dataloader = dict(
        batch_size=1,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(dataset, pipeline=test_pipeline, test_mode=True),
        **loader,
    )
    cfg.test_dataloader = cfg.val_dataloader
    metric = dict(
        type='CocoPanopticMetric',
        ann_file=data['ann_file'],
        seg_prefix=data['seg_dir'] + '/',
        nproc=1,
    )
    cfg.val_evaluator = metric
    cfg.test_evaluator = dict(metric)
    if outfile_prefix is not None:
        cfg.test_evaluator['outfile_prefix'] = outfile_prefix
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop',
        max_iters=iters,
        val_interval=eval_interval or iters,
    )
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=0.1,
            by_epoch=False,
            begin=0,
            end=min(10, iters),
        )
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False
    )
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.log_processor = dict(by_epoch=False)
    cfg.env_cfg = dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo'),
    )
    cfg.randomness = dict(seed=seed)
    # mmdet names its visualizer 'visualizer'; a second Runner in the same
    # process would reuse the first one's (and log into its work dir). The
    # Runner names it after the experiment when no name is given.
    cfg.visualizer.pop('name', None)
    cfg.load_from = None
    cfg.work_dir = work_dir
    return cfg
