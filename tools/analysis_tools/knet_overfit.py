"""Overfit a K-Net panoptic config on a tiny synthetic COCO-panoptic set.

    python tools/analysis_tools/knet_overfit.py \\
        configs/knet_panoptic/knet-s3_sf-r18_8xb2-36e_coco-panoptic.py \\
        --iters 300 --eval-interval 50 --plot overfit.png

Writes a synthetic COCO-panoptic set (2 images by default: two stuff
classes, ``sky`` above ``road``, and 2-3 ``person`` / ``car`` instances,
a void band at the bottom; panoptic PNGs with ids ``R + 256 G + 256^2 B``),
shrinks the model (fewer channels and proposals, 2 + 2 classes), trains it
with mmdet's Runner on the set and evaluates PQ on the same images with
``CocoPanopticMetric`` every ``--eval-interval`` iterations. A model whose
matching, losses and thing/stuff merge work together drives PQ towards 100;
the curve is printed (and plotted with ``--plot``).

The library code lives in ``sfseg.official_checks.knet``: ``toy_runs``
(``shrink_knet`` and ``toy_config``, also used by the K-Net tests) and
``overfit`` (training and the PQ curve); the toy set in
``sfseg.datasets.toy.panoptic``.
"""

import argparse

from sfseg.official_checks.knet.overfit import plot_curve, run_overfit
from sfseg.utils import resolve_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'config',
        nargs='?',
        default='configs/knet_panoptic/'
        'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py',
        help='K-Net panoptic config',
    )
    parser.add_argument('--work-dir', default='work_dirs/knet_overfit')
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--eval-interval', type=int, default=50)
    parser.add_argument('--num-images', type=int, default=2)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(64, 96), metavar=('H', 'W')
    )
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--plot', help='write the PQ curve to this PNG')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    curve, seconds = run_overfit(
        resolve_config(args.config),
        args.work_dir,
        iters=args.iters,
        eval_interval=args.eval_interval,
        num_images=args.num_images,
        size=args.size,
        lr=args.lr,
        seed=args.seed,
    )
    print(f'{"iter":>6} {"PQ":>6} {"SQ":>6} {"RQ":>6}')
    for it, pq, sq, rq in curve:
        print(f'{it:>6d} {pq:6.1f} {sq:6.1f} {rq:6.1f}')
    print(f'time: {seconds:.1f} s for {args.iters} iterations')
    if args.plot:
        plot_curve(curve, args.plot)
        print(f'plot: {args.plot}')
    return curve


if __name__ == '__main__':
    main()
