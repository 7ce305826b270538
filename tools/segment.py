"""Segment an image, a folder of images or a video and write overlays.

    python tools/segment.py INPUT CONFIG CHECKPOINT --out-dir OUT

Images and folders go through mmseg's ``MMSegInferencer``: colour overlays
in ``OUT/vis`` and label maps in ``OUT/pred``. Videos (.mp4, .avi, .mov,
.mkv) are read frame by frame and written to ``OUT/<name>_overlay.mp4``.
"""

import argparse
import os
import os.path as osp

import cv2
from mmengine.utils import ProgressBar
from mmseg.apis import MMSegInferencer

from sfseg.utils import exit_on_untrusted_checkpoint, resolve_config

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def segment_images(inferencer, path, out_dir, opacity):
    """Overlays for one image or every image of a folder; returns count."""
    if osp.isdir(path):
        files = sorted(
            osp.join(path, f)
            for f in os.listdir(path)
            if f.lower().endswith(IMAGE_EXTS)
        )
        if not files:
            raise FileNotFoundError(
                f'no images ({", ".join(IMAGE_EXTS)}) in folder {path}'
            )
    else:
        files = [path]
    inferencer(
        files,
        out_dir=out_dir,
        img_out_dir='vis',
        pred_out_dir='pred',
        opacity=opacity,
    )
    return len(files)


def segment_video(inferencer, path, out_dir, opacity):
    """Write ``<name>_overlay.mp4``; returns the number of frames."""
    reader = cv2.VideoCapture(path)
    if not reader.isOpened():
        raise OSError(f'cannot open video {path}')
    fps = reader.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(reader.get(cv2.CAP_PROP_FRAME_COUNT))
    name = osp.splitext(osp.basename(path))[0]
    out_file = osp.join(out_dir, f'{name}_overlay.mp4')
    os.makedirs(out_dir, exist_ok=True)
    visualizer = inferencer.visualizer
    visualizer.set_dataset_meta(**inferencer.model.dataset_meta)
    visualizer.alpha = opacity
    writer, frames = None, 0
    progress = ProgressBar(total) if total > 0 else None
    try:
        while True:
            ok, frame = reader.read()
            if not ok:
                break
            pred = inferencer(frame, return_datasamples=True)
            pred = pred[0] if isinstance(pred, list) else pred
            visualizer.add_datasample(
                name, frame[:, :, ::-1], pred, draw_gt=False, with_labels=False
            )
            vis = visualizer.get_image()[:, :, ::-1]  # RGB -> BGR
            if writer is None:
                h, w = vis.shape[:2]
                writer = cv2.VideoWriter(
                    out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h)
                )
            writer.write(vis)
            frames += 1
            if progress is not None:
                progress.update()
    finally:
        reader.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        raise OSError(f'no frames could be read from {path}')
    return frames


def segment(path, config, checkpoint, out_dir, device='cpu', opacity=0.5):
    if not osp.exists(path):
        raise FileNotFoundError(f'input not found: {path}')
    inferencer = MMSegInferencer(
        model=resolve_config(config), weights=checkpoint, device=device
    )
    if osp.isfile(path) and path.lower().endswith(VIDEO_EXTS):
        return 'video', segment_video(inferencer, path, out_dir, opacity)
    return 'images', segment_images(inferencer, path, out_dir, opacity)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image, folder of images or video')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5)
    args = parser.parse_args(argv)
    kind, count = segment(
        args.input,
        args.config,
        args.checkpoint,
        args.out_dir,
        args.device,
        args.opacity,
    )
    print(
        f'\n{count} {"frames" if kind == "video" else "images"} '
        f'segmented; overlays in {args.out_dir}'
    )


if __name__ == '__main__':
    with exit_on_untrusted_checkpoint():
        main()
