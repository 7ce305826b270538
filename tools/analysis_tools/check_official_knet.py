"""Check sfseg's K-Net heads against the official K-Net code, same weights.

    python tools/analysis_tools/check_official_knet.py \\
        --official-root ~/src/K-Net \\
        [--save-reference tests/data/knet_reference.npz]

Builds small sfseg K-Net heads (the R50 panoptic config shrunk: 16
channels, 8 thing kernels, 3 things + 2 stuff, 3 update stages), gives
them deterministic weights (``deterministic_weights``), copies the
state_dict into the official ``ConvKernelHead`` / ``KernelIterHead``
(``strict=True``: the module names are the official ones) and runs both
on the same seeded inputs. It prints the max abs difference of

- the localisation FPN (``SemanticFPNWrapper``: loc and sem features);
- the kernel head (eval): proposal kernels incl. the stuff kernels, the
  features fed to the update heads, the masks, the semantic logits;
- one update stage (stage 0 on its own random kernels, features and
  masks at twice the feature size, so the gather resizes them);
- the 3-stage eval forward (class logits and masks of every stage, the
  upsampled masks of the last stage);
- the training forward: the class logits of every stage and the masks
  (and, from stage 1 on, the class logits) that the kernel head and
  every stage hand to the assigner.

The official files are imported from ``--official-root`` under run-time
shims; nothing is copied or edited (``import_official``). The shims
map the mmcv 1.x / mmdet 2.x names they import onto mmcv 2.1, mmengine
and mmdet 3.3: the shared bricks (``ConvModule``, ``FFN``,
``MultiheadAttention``, ``SinePositionalEncoding``, whose mmdet 2.x
formula is the same) are the installed ones, so the check pins K-Net's
own maths. In training the official assigners, samplers, targets and
losses are replaced by recorders: only the inputs of matching are
compared (the losses have their own hand-computed tests).

``--save-reference`` writes the official outputs, the setup and checksums
of the weights and inputs to a small ``.npz`` (numbers only). The test
``tests/test_det/test_knet_reference.py`` rebuilds the same sfseg heads,
weights and inputs without the official code and compares against it.

The library code lives in ``sfseg.official_checks.knet``:
``knet_reference`` (the sfseg heads, weights, inputs and reference file)
and ``official_knet`` (the official heads under the shims).
"""

import argparse
import os.path as osp
import sys

import torch

from sfseg.official_checks.knet.knet_reference import (
    MIN_MARGIN,
    SETUP,
    build_sfseg,
    checksums,
    diff_rows,
    make_inputs,
    margin,
    save_reference,
    sfseg_outputs,
)
from sfseg.official_checks.knet.official_knet import (
    build_official,
    official_outputs,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--official-root', required=True)
    parser.add_argument('--save-reference', metavar='NPZ')
    parser.add_argument('--input-seed', type=int, default=SETUP['input_seed'])
    parser.add_argument('--tol', type=float, default=1e-5)
    args = parser.parse_args(argv)
    setup = dict(SETUP, input_seed=args.input_seed)

    model = build_sfseg(setup)
    inputs = make_inputs(setup)
    ours = sfseg_outputs(model, inputs)
    official = build_official(args.official_root, model.state_dict(), setup)
    theirs = official_outputs(official, inputs, setup)

    # Both official heads match on the same masks; store them once.
    rpn_match = theirs.pop('train.rpn_match_masks')
    same = torch.equal(rpn_match, theirs['train.match_masks0'])
    assert same, 'official kernel head and stage 0 match on different masks'
    theirs_cmp = dict(theirs, **{'train.rpn_match_masks': rpn_match})
    rows = diff_rows(ours, theirs_cmp)
    gap = margin(ours, inputs, setup)

    print('| output | shape | max abs diff | max abs value |')
    print('|---|---|---|---|')
    for key, shape, diff, scale in rows:
        shape = 'x'.join(map(str, shape))
        print(f'| {key} | {shape} | {diff:.1e} | {scale:.2f} |')
    worst = max(r[2] for r in rows)
    print(f'\nmax abs diff over all outputs: {worst:.1e}')
    print(f'smallest |logit| of a thresholded mask: {gap:.1e}')
    if args.save_reference:
        if gap < MIN_MARGIN:
            sys.exit(
                f'a thresholded logit is within {gap:.1e} of 0; pick '
                'another --input-seed'
            )
        save_reference(
            args.save_reference, theirs, setup, checksums(model, inputs), gap
        )
        size = osp.getsize(args.save_reference)
        print(f'wrote {args.save_reference} ({size / 1024:.1f} KiB)')
    if worst > args.tol:
        sys.exit(f'differences above {args.tol}')


if __name__ == '__main__':
    main()
