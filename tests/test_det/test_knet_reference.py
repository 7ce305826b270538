"""sfseg's K-Net forward maths against stored outputs of the official code.

``tests/data/knet_reference.npz`` holds outputs of the official K-Net heads
(ZwwWayne/K-Net 5e50ee5 under run-time shims, written by
``tools/analysis_tools/check_official_knet.py --save-reference``) for small
heads whose weights and inputs ``sfseg.official_checks.knet.knet_reference``
derives from fixed seeds. The tests rebuild the same sfseg heads, weights and
inputs without the official code and compare each part: the localisation FPN,
the kernel head, one update stage, the 3-stage forward and the masks (and class
logits) the kernel head and each stage are matched on in training.
"""

import os.path as osp

import pytest
import torch
from knet_helpers import REPO

from sfseg.official_checks.knet import knet_reference as ck

REFERENCE = osp.join(REPO, 'tests', 'data', 'knet_reference.npz')
# Measured official-vs-sfseg differences are ~1e-6 at most (relative to
# values up to ~50: proposal kernels are feature sums).
ATOL = RTOL = 1e-5


@pytest.fixture(scope='module')
def reference():
    return ck.load_reference(REFERENCE)


@pytest.fixture(scope='module')
def sfseg(reference, _det_registered):
    setup = reference[0]['setup']
    return ck.build_sfseg(setup), ck.make_inputs(setup)


def run_and_compare(part, sfseg, reference, rename=None):
    model, inputs = sfseg
    expected = reference[1]
    outs = ck.PARTS[part](model, inputs)
    for key, out in outs.items():
        ref_key = (rename or {}).get(key, key)
        torch.testing.assert_close(
            out,
            expected[ref_key],
            rtol=RTOL,
            atol=ATOL,
            msg=lambda m, key=key: f'{key}: {m}',
        )
    return outs


def test_reference_setup(sfseg, reference):
    """Same weights and inputs as the official run (no generator drift)."""
    meta, expected = reference
    assert osp.getsize(REFERENCE) < 200 * 1024
    sums = ck.checksums(*sfseg)
    for name in ('weights', 'inputs'):
        assert sums[name] == pytest.approx(meta['checksums'][name], rel=1e-9)
    # No thresholded logit is near 0, so float noise cannot flip a mask.
    assert meta['margin'] >= ck.MIN_MARGIN
    assert {k.split('.')[0] for k in expected} == {
        'fpn',
        'kernel_head',
        'stage',
        'full',
        'train',
    }


def test_fpn_wrapper(sfseg, reference):
    run_and_compare('fpn', sfseg, reference)


def test_kernel_head(sfseg, reference):
    outs = run_and_compare('kernel_head', sfseg, reference)
    setup = reference[0]['setup']
    k = setup['num_proposals'] + setup['num_stuff']
    assert outs['kernel_head.kernels'].shape[1] == k


def test_update_stage(sfseg, reference):
    run_and_compare('update_stage', sfseg, reference)


def test_three_stage_forward(sfseg, reference):
    outs = run_and_compare('full', sfseg, reference)
    stages = reference[0]['setup']['num_stages']
    assert {f'full.cls{s}' for s in range(stages)} <= set(outs)


def test_three_stage_matching(sfseg, reference):
    """Training forward: the kernel head and stage 0 match on the kernel
    head's thing masks, stage s > 0 on stage s-1's (upsampled) masks and
    class logits; each stage's training-mode class logits."""
    outs = run_and_compare(
        'matching',
        sfseg,
        reference,
        rename={'train.rpn_match_masks': 'train.match_masks0'},
    )
    stages = reference[0]['setup']['num_stages']
    expected = {'train.rpn_match_masks'}
    expected |= {f'train.cls{s}' for s in range(stages)}
    expected |= {f'train.match_masks{s}' for s in range(stages)}
    expected |= {f'train.match_cls{s}' for s in range(1, stages)}
    assert set(outs) == expected
