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
"""

import argparse
import os.path as osp
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'model_converters'))

import sfsegnets2sfseg as converter  # noqa: E402
from official_sfsegnets import (  # noqa: E402
    CONSTRUCTORS,
    build_official,
    official_logits,
    randomise,
)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def compare(root, family, shape, seed=0):
    torch.manual_seed(seed)
    official = randomise(build_official(root, family), seed).eval()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = osp.join(tmp, 'official.pth'), osp.join(tmp, 'sfseg.pth')
        state = {f'module.{k}': v for k, v in official.state_dict().items()}
        torch.save({'state_dict': state, 'epoch': 0, 'mean_iu': 0.0}, src)
        report = converter.convert(src, dst)
        converted = converter.load_checkpoint_file(dst, map_location='cpu')
    model, _ = converter.build_reference(family, report['num_classes'])
    model.load_state_dict(converted['state_dict'], strict=True)
    model.eval()
    x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(1))
    ref = official_logits(official, x)
    out = F.interpolate(
        model(x, None, mode='tensor'),
        size=shape,
        mode='bilinear',
        align_corners=True,
    )
    return dict(
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
    parser.add_argument('--families', nargs='+', default=sorted(CONSTRUCTORS))
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    rows, failed = [], []
    print(
        '| family | official params | sfseg params | dropped tensors | '
        'max abs logit diff | max abs logit | argmax agreement |\n'
        '|---|---|---|---|---|---|---|'
    )
    for family in args.families:
        r = compare(args.official_root, family, tuple(args.shape), args.seed)
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
    if failed:
        sys.exit(f'differences above {args.tol} (or misdetected): {failed}')


if __name__ == '__main__':
    main()
