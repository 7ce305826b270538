"""Where a K-Net panoptic map is decided away from every threshold.

A runtime (or another CPU's kernels) gives logits that differ from
PyTorch's by rounding; K-Net's merge turns such a difference into another
segment where a score sits on ``instance_score_thr``, a kept area on
``overlap_thr``, a mask probability on 0.5 or two kernels tie for a
pixel. :func:`undecided_pixels` marks the pixels that a change of at most
``eps`` in every score and mask probability could change; elsewhere two
results must agree, which :func:`assert_same_where_decided` checks.
"""

import numpy as np
import torch

EPS = 1e-3  # of a score or a mask probability


def undecided_pixels(fusion_head, cls_score, mask_logits, meta, eps=EPS):
    """(H, W) bool array of the pixels whose panoptic class or segment a
    change of ``eps`` in the scores and mask probabilities of one image
    (``cls_score`` (K, C), ``mask_logits`` (K, h, w)) could change."""
    probs = fusion_head.mask_probs(mask_logits, meta).double()
    scores, labels = fusion_head.kernel_scores(cls_score.float())
    scores = scores.double()
    weighted = scores[:, None, None] * probs  # moves by at most 2 eps
    top = weighted.max(dim=0).values
    owner = weighted.argmax(dim=0)
    near = weighted >= top - 4 * eps  # kernels that could own the pixel
    unsure_owner = near.sum(dim=0) > 1
    unsure = torch.zeros(len(scores), dtype=torch.bool)
    for k in range(len(scores)):
        if labels[k] < fusion_head.num_things_classes:
            gap = float(scores[k]) - fusion_head.instance_score_thr
            if abs(gap) <= eps:
                unsure[k] = True
                continue
            if gap < 0:
                continue  # surely dropped
        area_lo = int(((owner == k) & ~unsure_owner).sum())
        area_hi = int(near[k].sum())
        full_lo = int((probs[k] >= 0.5 + eps).sum())
        full_hi = int((probs[k] >= 0.5 - eps).sum())
        kept = (
            area_lo > 0
            and full_lo > 0
            and area_lo / full_hi >= fusion_head.overlap_thr
        )
        dropped = (
            area_hi == 0
            or full_hi == 0
            or area_hi / max(full_lo, 1) < fusion_head.overlap_thr
        )
        unsure[k] = not (kept or dropped)
    undecided = unsure_owner | (near & unsure[:, None, None]).any(dim=0)
    return undecided.numpy()


def assert_same_where_decided(ref, got, undecided, offset):
    """Panoptic id maps ``ref`` and ``got`` (ids ``label + n * offset``)
    give the same class on every decided pixel and their segments
    correspond one to one there; returns the decided fraction."""
    ref, got = np.asarray(ref), np.asarray(got)
    assert ref.shape == got.shape == undecided.shape
    decided = ~undecided
    r, g = ref[decided], got[decided]
    wrong = int((r % offset != g % offset).sum())
    assert wrong == 0, f'{wrong} decided pixels change class'
    pairs = set(zip(r.tolist(), g.tolist()))
    assert (
        len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    ), f'segments do not correspond one to one: {sorted(pairs)}'
    return float(decided.mean())


def panoptic_logits(model, img):
    """``(cls_score, mask_logits, metainfo)`` of the detector's PyTorch
    network on one image, as its ``predict`` merges them."""
    from sfseg.det.deploy import KNetPanopticNetwork

    network = KNetPanopticNetwork(model)
    inputs, samples = network.preprocess(img)
    cls_score, masks = network.forward(inputs)
    return cls_score[0], masks[0], samples[0].metainfo
