"""Segment an image, a folder of images or a video and write overlays.

    python tools/segment.py INPUT CONFIG CHECKPOINT --out-dir OUT
    mim run sfseg segment INPUT CONFIG CHECKPOINT --out-dir OUT

Images: ``OUT/vis/<stem>.png`` (colour overlay) and
``OUT/pred/<stem>_pred.png`` (class index per pixel), named after each
input; folders are walked recursively and their sub-folders mirrored.
Outputs are written under a temporary name and renamed, so a killed run
leaves no truncated file; ``--skip-existing`` continues a half-done
folder. Images over ``--max-pixels`` are refused from their header,
before decoding, or with ``--oversize shrink`` read at that size (a JPEG
decoded at 1/2, 1/4 or 1/8 by its decoder, never at full size) and their
outputs written at it.
In a folder a broken or too small image is reported and skipped
(``--no-skip-bad`` stops instead); the run ends with a summary, and the
exit status is 1 if anything was skipped. Class names are written on
overlays of images up to 4 megapixels. Images whose long side exceeds
``--max-size`` are segmented at that size and the labels scaled back
(nearest), which bounds the memory; the peak memory is printed.
Videos (.mp4, .avi, .mov, .mkv) go to ``OUT/<name>_overlay.mp4`` with
the frames per second printed. CONFIG may be a file, an sfseg config name
or ``sfseg::<folder>/<name>.py``; the checkpoint must fit the config.
``--backend onnxruntime|openvino`` runs the network in that runtime
(exported on the fly); ``--precision int8`` there calibrates on
``--calib`` images (default: the first 8 inputs or video frames).
``--backend aoti`` compiles the network into an AOTInductor package
first (about a minute) and runs that.

A K-Net panoptic config (an mmdet detector with a panoptic head; the
task follows the config's model, ``--task`` insists on one) writes
``OUT/vis/<stem>.png`` (segments in their class colour, outlined, with
class names, things numbered), ``OUT/panoptic/<stem>.png`` (COCO
panoptic ids as RGB) and ``OUT/panoptic.json`` (COCO panoptic
``annotations`` with ``image_id`` = the stem, and ``categories``), which
``CocoPanopticMetric`` / panopticapi read; it runs in fp32, in PyTorch
or with ``--backend onnxruntime|openvino`` its network exported
(``sfseg.det.deploy``) and the merge in Python.
The library code is in :mod:`sfseg.apis.segment_files`.
"""

import argparse
import sys

from sfseg.apis import BACKENDS, OVERSIZE, PRECISIONS
from sfseg.apis.segment_files import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIZE,
    TASKS,
    segment,
    summary,
)
from sfseg.utils import exit_on_user_error


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image, folder of images or video')
    parser.add_argument('config', help='config file, name or sfseg::name')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument(
        '--task',
        choices=TASKS,
        default='auto',
        help="auto: the config's (an mmseg segmentor: semantic, an mmdet "
        'panoptic detector such as K-Net: panoptic); semantic / panoptic '
        'refuse a config of the other task',
    )
    parser.add_argument(
        '--skip-bad',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='report and skip unreadable or too small images '
        '(default: on for folders, off for a single image)',
    )
    parser.add_argument(
        '--max-size',
        type=int,
        default=DEFAULT_MAX_SIZE,
        help='segment images with a longer side at this size '
        f'(default {DEFAULT_MAX_SIZE}; 0: never shrink)',
    )
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='where the network runs (onnxruntime / openvino / aoti: CPU; '
        'aoti: semantic only)',
    )
    parser.add_argument(
        '--precision',
        choices=PRECISIONS,
        default='auto',
        help='auto: bf16 only on CPUs with native bf16 (AVX-512 BF16 / '
        'AMX), else fp32; bf16 is refused where it would be emulated; '
        'int8 needs --backend onnxruntime or openvino',
    )
    parser.add_argument(
        '--calib',
        help='image or folder to calibrate int8 on (default: the input)',
    )
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help='refuse images with more pixels, read from the file header '
        f'before decoding (default {DEFAULT_MAX_PIXELS:,}; 0: no limit)',
    )
    parser.add_argument(
        '--oversize',
        choices=OVERSIZE,
        default='refuse',
        help='images over --max-pixels: refuse them, or shrink them to it '
        'while decoding (JPEG: by the decoder, at 1/2, 1/4 or 1/8) and '
        'write their outputs at that size',
    )
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='continue a half-done folder: images whose overlay and label '
        'map exist are not segmented again (outputs are written under a '
        'temporary name and renamed, so existing ones are complete)',
    )
    parser.add_argument(
        '--fast',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='BN folding, NNPACK kernels and the faster memory layout '
        '(default: on CPU)',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='the fast path compiled with torch.compile (semantic, '
        'pytorch backend): the first image of each size compiles '
        '(tens of seconds), later ones run faster',
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Segment, print the summary; 1 if an input was skipped."""
    args = parse_args(argv)
    report = segment(
        args.input,
        args.config,
        args.checkpoint,
        args.out_dir,
        device=args.device,
        opacity=args.opacity,
        skip_bad=args.skip_bad,
        max_size=args.max_size,
        fast=args.fast,
        precision=args.precision,
        backend=args.backend,
        calib=args.calib,
        compile=args.compile,
        skip_existing=args.skip_existing,
        max_pixels=args.max_pixels,
        oversize=args.oversize,
        task=args.task,
    )
    print('\n' + '\n'.join(summary(report, args.out_dir)))
    return 1 if report.skipped else 0


if __name__ == '__main__':
    with exit_on_user_error():
        sys.exit(main())
