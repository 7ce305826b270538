"""Check sfseg against the official SFNet code with identical weights.

    python tools/analysis_tools/check_official_equivalence.py \\
        --official-root ~/src/SFSegNets [--families sfnet_r18 ...] \\
        [--shape 512 1024]

For every family: build the official model (random weights, non-trivial BN
statistics, residual branches damped as in trained ResNets), save it in the
released checkpoint format, convert it with
``tools/model_converters/sfsegnets2sfseg.py``, load the result into the
sfseg model with ``strict=True`` and compare the eval-mode logits on the
same input (sfseg's stride-4/8/16 logits upsampled bilinearly with
``align_corners=True``, as the official forward does). Prints a markdown
table and exits with status 1 if any difference exceeds ``--tol``.

``--fast`` also compares sfseg's inference fast path
(``accelerate(model, AccelerationOptions(channels_last=True,
nnpack=True))``) and the same with one acceleration switched off at a
time, as differences relative to the largest official logit, so the
acceleration that costs fidelity shows; ``init_model`` is the model
``SFSegInferencer`` runs on the CPU (the fast path with the layout
tuner), the worst of six calls, so every tuning step counts.
"""

import argparse
import copy
import dataclasses
import os.path as osp
import sys
import tempfile

import torch
import torch.nn.functional as F

from sfseg.acceleration import AccelerationOptions, accelerate
from sfseg.apis import init_model
from sfseg.models.official import FAMILIES
from sfseg.models.official import convert as converter
from sfseg.official_checks.official_sfsegnets import (
    build_official,
    official_logits,
    randomise,
)
from sfseg.utils import load_checkpoint_file

FAST = AccelerationOptions(channels_last=True, nnpack=True)
# label -> options: the fast path, then one acceleration off at a time
FAST_VARIANTS = {
    'fast': FAST,
    'no NNPACK': dataclasses.replace(FAST, nnpack=False),
    'no low-res fusion': dataclasses.replace(FAST, low_res_fusion=False),
    'no gather warp': dataclasses.replace(FAST, gather_warp=False),
    'NCHW': dataclasses.replace(FAST, channels_last=False),
    'no BN folding': dataclasses.replace(FAST, fold_bn=False),
    # what a CPU where NNPACK always times faster runs (e.g. AVX2 only)
    'NNPACK everywhere': dataclasses.replace(
        FAST, nnpack_min_speedup=1e9, nnpack_min_channels_last_macs=0
    ),
    'NNPACK everywhere, NCHW': dataclasses.replace(
        FAST, channels_last=False, nnpack_min_speedup=1e9
    ),
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def logits(model, x, shape, options=None):
    """``model``'s logits at ``shape`` (upsampled as the official forward
    does), through :func:`accelerate` with ``options`` if given."""
    if options is not None:
        model = accelerate(copy.deepcopy(model), options)
        if options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
    return F.interpolate(
        model(x, None, mode='tensor'),
        size=shape,
        mode='bilinear',
        align_corners=True,
    )


@torch.no_grad()
def compare(root, family, shape, seed=0, fast=False):
    torch.manual_seed(seed)
    official = randomise(build_official(root, family), seed).eval()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = osp.join(tmp, 'official.pth'), osp.join(tmp, 'sfseg.pth')
        state = {f'module.{k}': v for k, v in official.state_dict().items()}
        torch.save({'state_dict': state, 'epoch': 0, 'mean_iu': 0.0}, src)
        report = converter.convert(src, dst)
        converted = load_checkpoint_file(dst, map_location='cpu')
        # what SFSegInferencer runs: the fast path and the layout tuner
        tuned = init_model(FAMILIES[family].config, dst) if fast else None
    model, _ = converter.build_reference(family, report['num_classes'])
    model.load_state_dict(converted['state_dict'], strict=True)
    model.eval()
    x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(1))
    ref = official_logits(official, x)
    out = logits(model, x, shape)
    scale = float(ref.abs().max())
    relative = {
        label: float((logits(model, x, shape, options) - ref).abs().max())
        / scale
        for label, options in (FAST_VARIANTS.items() if fast else ())
    }
    if tuned is not None:  # every step of the tuner, then its choice
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)]
        relative['init_model'] = max(
            float((tuned.encode_decode(x, metas) - ref).abs().max()) / scale
            for _ in range(6)
        )
    return dict(
        relative=relative,
        family=family,
        detected=report['family'],
        official_params=n_params(official),
        sfseg_params=n_params(model),
        dropped=report['dropped'],
        max_abs_diff=float((out - ref).abs().max()),
        max_abs_logit=float(ref.abs().max()),
        argmax_agreement=float(
            (out.argmax(1) == ref.argmax(1)).float().mean()
        ),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--official-root', required=True)
    parser.add_argument('--families', nargs='+', default=sorted(FAMILIES))
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument(
        '--fast',
        action='store_true',
        help='also compare the CPU fast path and its ablations',
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    rows, failed = [], []
    print(
        '| family | official params | sfseg params | dropped tensors | '
        'max abs logit diff | max abs logit | argmax agreement |\n'
        '|---|---|---|---|---|---|---|'
    )
    for family in args.families:
        r = compare(
            args.official_root,
            family,
            tuple(args.shape),
            args.seed,
            args.fast,
        )
        rows.append(r)
        if r['max_abs_diff'] > args.tol or r['detected'] != family:
            failed.append(family)
        print(
            f'| {family} | {r["official_params"]:,} | '
            f'{r["sfseg_params"]:,} | {r["dropped"]} | '
            f'{r["max_abs_diff"]:.1e} | {r["max_abs_logit"]:.2f} | '
            f'{100 * r["argmax_agreement"]:.2f}% |',
            flush=True,
        )
    if args.fast:
        print(
            '\nfast path, max abs difference from the official logits '
            'relative to the largest official logit:\n\n| family | '
            + ' | '.join([*FAST_VARIANTS, 'init_model'])
            + ' |\n|---|'
            + '---|' * (len(FAST_VARIANTS) + 1)
        )
        for r in rows:
            cells = ' | '.join(f'{v:.1e}' for v in r['relative'].values())
            print(f'| {r["family"]} | {cells} |')
    if failed:
        sys.exit(f'differences above {args.tol} (or misdetected): {failed}')


if __name__ == '__main__':
    main()
