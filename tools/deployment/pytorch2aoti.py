"""Compile a segmentor's network into an AOTInductor package (``.pt2``).

    python tools/deployment/pytorch2aoti.py CONFIG [CHECKPOINT] \\
        --output model.pt2 [--verify]

The package holds the prepared network (BN folded, deep supervision
removed) with dynamic height and width, compiled ahead of time by
Inductor for this CPU's instruction set; it runs without sfseg or mmseg:

    model = torch._inductor.aoti_load_package('model.pt2')
    logits = model(normalised_images)  # N x 3 x H x W -> N x K x H/4 x W/4

``segment.py --backend aoti`` and the benchmark's ``aoti`` variant build
the same package. ``--verify`` compares the package with the eager model
at ``--verify-shape`` sizes (default 512x1024 and 383x767). Without a
checkpoint the model keeps its random initial weights. Library code:
:mod:`sfseg.deploy.aoti_export`.
"""

import argparse
import time

from mmengine.config import DictAction

from sfseg.apis import init_model
from sfseg.deploy import AOTIRunner, ExportWrapper, export_aoti, verify
from sfseg.utils import exit_on_user_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file, name or sfseg::name')
    parser.add_argument('checkpoint', nargs='?', help='weights (optional)')
    parser.add_argument('--output', required=True, help='.pt2 package')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='check the package against the eager model',
    )
    parser.add_argument(
        '--verify-shape',
        type=int,
        nargs=2,
        action='append',
        metavar=('H', 'W'),
        help='sizes --verify runs (repeatable; default 512 1024, 383 767)',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = init_model(
        args.config, args.checkpoint, cfg_options=args.cfg_options, fast=False
    )
    start = time.perf_counter()
    export_aoti(model, args.output)
    isa = AOTIRunner(args.output).metadata.get('AOTI_CPU_ISA', '?')
    print(
        f'compiled {args.output} in {time.perf_counter() - start:.0f} s '
        f'(dynamic H/W; CPU instruction set {isa})'
    )
    if args.verify:
        shapes = [tuple(s) for s in args.verify_shape or []]
        shapes = shapes or [(512, 1024), (383, 767)]
        eager = ExportWrapper(model).eval()
        diffs = verify(eager, args.output, shapes, runtime='aoti')
        for (h, w), diff in diffs.items():
            print(f'verify aoti {h}x{w}: max abs diff {diff:.2e}')


if __name__ == '__main__':
    with exit_on_user_error():
        main()
