"""Argmax labels compared where the logits decide them.

Two computations of the same logits (a runtime, another layout, another
CPU's kernels) that differ by at most ``d`` give the same argmax on every
pixel whose two largest reference logits are more than ``2 d`` apart;
on the others a tie may fall either way on some CPU. The assertions
below hold on any CPU.
"""

import torch


def decided(ref_logits, diff):
    """Bool map (N, H, W) of the pixels of ``ref_logits`` (N, K, H, W)
    whose argmax no change of at most ``diff`` per logit can move."""
    top = ref_logits.topk(2, dim=1).values
    return (top[:, 0] - top[:, 1]) > 2 * diff


def assert_labels_where_decided(ref_logits, got_logits, tol=1e-4):
    """``got_logits`` within ``tol`` of ``ref_logits`` and the same argmax
    on every decided pixel; returns the decided share."""
    diff = float((got_logits - ref_logits).abs().max())
    assert diff < tol, diff
    mask = decided(ref_logits, diff)
    ref, got = ref_logits.argmax(1), got_logits.argmax(1)
    assert torch.equal(got[mask], ref[mask])
    return float(mask.float().mean())
