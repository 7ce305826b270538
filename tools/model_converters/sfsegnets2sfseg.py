"""Convert official SFNet / SFNet-Lite checkpoints (lxtGH/SFSegNets).

Whole models (``--arch auto`` detects the family from the keys)::

    python tools/model_converters/sfsegnets2sfseg.py \\
        official.pth sfseg.pth [--arch sfnet_r18] [--force]

ImageNet backbones (the official ``pretrained_models/*.pth``), written with
backbone-level keys for ``init_cfg=dict(type='Pretrained', ...)``::

    python tools/model_converters/sfsegnets2sfseg.py \\
        resnet18-deep-inplane128.pth r18d.pth --backbone resnet18_deep

Every key is mapped (``module.`` stripped; STDC aliases, the STDC ImageNet
classifier and the parameters SFNet-Lite builds but never runs dropped,
each by its exact official name, so anything else under those prefixes is
reported as unknown) and the result is checked against the sfseg model
built from the matching config: unknown, missing or mis-shaped keys are
reported by name and nothing is written. The input is read with
``weights_only=True`` and sfseg's allowlist (``sfseg.utils.checkpoint``;
``SFSEG_TRUST_CHECKPOINTS=1`` for a trusted file that needs more). The
output holds only tensors and plain values and keeps
``meta.dataset_meta`` (class names and palette) so ``init_model`` and
``MMSegInferencer`` show class names.
"""

import argparse
import sys

from sfseg.models.official.convert import (
    BACKBONES,
    FAMILIES,
    ConversionError,
    convert,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output sfseg checkpoint')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=['auto'] + sorted(FAMILIES),
        help='official model family (default: detect)',
    )
    parser.add_argument(
        '--backbone',
        nargs='?',
        const='auto',
        choices=['auto'] + sorted(BACKBONES),
        help='convert an ImageNet backbone instead',
    )
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing output'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = convert(
            args.src, args.dst, args.arch, args.backbone, args.force
        )
    except ConversionError as err:
        sys.exit(f'error: {err}\nnothing was written.')
    print(
        f'converted {args.src} ({report["family"]}): {report["kept"]} '
        f'tensors written to {args.dst}, {report["dropped"]} unused '
        'official tensors dropped'
    )


if __name__ == '__main__':
    main()
