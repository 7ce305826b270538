"""Check sfseg training against the official SFNet training code, step by
step, with identical weights and data.

    python tools/analysis_tools/check_official_training.py \\
        --official-root ~/src/SFSegNets [--families sfnet_r18 ...] \\
        [--steps 3] [--shape 256 512]

For every family: the official model, loss (``loss.py``), optimiser and
scheduler (``optimizer.get_optimizer``) built from the official code; the
sfseg model, optim wrapper and parameter scheduler built from the sfseg
config through mmengine's registries, with the official initial weights
converted by ``sfseg.models.official.convert``. One fixed batch
of 2 images (augmentation off, BN in training mode on both sides, dropout
probabilities set to 0 on both sides so neither draws a mask) goes through
``--steps`` SGD steps: the official loop (``loss = net(x, gts)``,
``backward``, ``optimizer.step``) and the Runner's own
``model.train_step(data, optim_wrapper)`` followed by the scheduler step.
Per step it prints both losses, the max abs gradient difference, the max
abs weight difference after the step and the learning rates; then the
learning rates of both schedules at the first iteration of epochs 0, 1, 2
and the last one. Exit status 1 when a tolerance is exceeded.

``--what augmentation`` (or ``all``) also compares the training
augmentation: the official transforms and the sfseg Cityscapes pipeline
run ``--draws`` times on one 1024x2048 street scene (drawn by
``sfseg.datasets.toy.driving``), half of the draws centred on
a centroid of its rarest class, and a two-sample KS test compares the
crop's scale, the padded fraction, the fraction of crops containing the
rare class and the mean / std of each colour channel
(``sfseg.official_checks.official_augmentation``; the checks themselves are in
``sfseg.official_checks.official_training``).
"""

import argparse
import sys

import torch
from mmseg.utils import register_all_modules

from sfseg.official_checks.official_training import (
    check_augmentation,
    check_family,
    trained_families,
)


def report_training(args, dtype, failed):
    """Print the step and schedule tables; append failing families."""
    print(
        '| family | step | loss official | loss sfseg | rel. loss diff | '
        'max abs grad diff (max grad) | max abs weight diff | lr official | '
        'lr sfseg |\n|---|---|---|---|---|---|---|---|---|'
    )
    schedules, notes = {}, {}
    for family in args.families:
        rows, schedules[family] = check_family(
            args.official_root, family, args.steps, tuple(args.shape), dtype
        )
        notes[family] = (rows[0]['norm_diff'], rows[0]['floor'])
        for r in rows:
            print(
                f'| {family} | {r["step"]} | {r["loss_official"]:.6f} | '
                f'{r["loss_sfseg"]:.6f} | {r["rel_loss"]:.1e} | '
                f'{r["grad"]:.1e} ({r["max_grad"]:.1e}) | '
                f'{r["weight"]:.1e} | {r["lr_official"]:.6g} | '
                f'{r["lr_sfseg"]:.6g} |',
                flush=True,
            )
            if r['rel_loss'] > args.tol or r['lr_official'] != r['lr_sfseg']:
                failed.append(family)
        if rows[-1]['weight'] > args.tol:
            failed.append(family)
    print(
        '\n| family | input normalisation diff (float32) | float32 rounding '
        'of the official gradients (fp32 vs fp64) |\n|---|---|---|'
    )
    for family, (norm_diff, floor) in notes.items():
        print(f'| {family} | {norm_diff:.1e} | {floor:.1e} |')
    print('\n| family | epoch | lr official | lr sfseg |\n|---|---|---|---|')
    for family, (official, ours) in schedules.items():
        for epoch in sorted(official):
            print(
                f'| {family} | {epoch} | {official[epoch]:.8g} | '
                f'{ours[epoch]:.8g} |'
            )
            if abs(official[epoch] - ours[epoch]) > 1e-12:
                failed.append(family)


def report_augmentation(args, failed):
    rare, share, result = check_augmentation(args.official_root, args.draws)
    print(
        f'\n\n{args.draws} draws per side on a 1024x2048 scene; rare class '
        f'{rare} ({100 * share:.2f} % of the pixels); half of the draws '
        'centred on it\n\n| statistic | official mean | sfseg mean | '
        'KS statistic | p-value |\n|---|---|---|---|---|'
    )
    for r in result:
        print(
            f'| {r["stat"]} | {r["official"]:.4f} | {r["sfseg"]:.4f} | '
            f'{r["ks"]:.3f} | {r["p"]:.3f} |'
        )
        if r['p'] < args.alpha:
            failed.append(f'augmentation: {r["stat"]}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--official-root', required=True)
    parser.add_argument('--families', nargs='+', default=trained_families())
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--shape', type=int, nargs=2, default=[256, 512])
    parser.add_argument('--tol', type=float, default=1e-5)
    parser.add_argument(
        '--what',
        choices=['training', 'augmentation', 'all'],
        default='all',
    )
    parser.add_argument('--draws', type=int, default=500)
    parser.add_argument('--alpha', type=float, default=0.01)
    parser.add_argument(
        '--dtype',
        choices=['float64', 'float32'],
        default='float64',
        help='float64 (default) compares the maths; in float32 both sides '
        'differ from their own float64 result by rounding (reported)',
    )
    args = parser.parse_args(argv)
    dtype = getattr(torch, args.dtype)
    register_all_modules()
    failed = []
    if args.what in ('training', 'all'):
        report_training(args, dtype, failed)
    if args.what in ('augmentation', 'all'):
        report_augmentation(args, failed)
    if failed:
        sys.exit(f'differences above tolerance: {sorted(set(failed))}')


if __name__ == '__main__':
    main()
