"""Segment one image and save a colour overlay (mmseg's visualizer)."""

import argparse
import os
import os.path as osp

from mmseg.apis import inference_model, init_model, show_result_pyplot

import sfseg  # noqa: F401


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-file', required=True, help='overlay PNG')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--opacity', type=float, default=0.5, help='mask opacity in [0, 1]'
    )
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.img):
        raise SystemExit(f'error: image not found: {args.img}')
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.img)
    os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
    show_result_pyplot(
        model,
        args.img,
        result,
        opacity=args.opacity,
        show=False,
        out_file=args.out_file,
    )
    print(f'overlay written to {args.out_file}')


if __name__ == '__main__':
    main()
