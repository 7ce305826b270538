"""Generate a procedural toy driving dataset in the Cityscapes layout.

    python tools/dataset_converters/toy_driving.py OUT [--num-train 48]

No downloads: seeded random street scenes in Cityscapes naming, so
``CityscapesDataset`` reads them unchanged (the scenes and the layout:
``sfseg.datasets.toy.driving``). Refuses to write into a non-empty
directory unless ``--force`` is given.
"""

import argparse
import sys

from sfseg.datasets.toy.driving import generate


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output root (e.g. data/toy_city)')
    parser.add_argument('--num-train', type=int, default=48)
    parser.add_argument('--num-val', type=int, default=12)
    parser.add_argument('--num-test', type=int, default=2)
    parser.add_argument(
        '--size', type=int, nargs=2, default=[256, 512], metavar=('H', 'W')
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--force', action='store_true', help='write into a non-empty dir'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        counts = generate(
            args.out_dir,
            args.num_train,
            args.num_val,
            args.num_test,
            tuple(args.size),
            args.seed,
            args.force,
        )
    except (FileExistsError, ValueError) as err:
        sys.exit(f'error: {err}')
    print(f'wrote {counts} to {args.out_dir}')


if __name__ == '__main__':
    main()
