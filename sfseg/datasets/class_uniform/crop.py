"""The crop that keeps a class-uniform sample's centroid inside."""

import numpy as np
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SFCentroidCrop(RandomCrop):
    """The crop of the official ``RandomSizeAndCrop``: pad, then crop
    uniformly or around ``results['centroid']``.

    - Padding (``pad_to_crop``, official): an image smaller than the crop
      is padded on *both* sides by ``(crop - size) // 2 + 1`` pixels,
      image with ``pad_val`` (0, black before normalisation), labels with
      ``seg_pad_val`` (the ignore index).
    - Without a centroid the window is uniform over the image (mmseg's
      ``RandomCrop``). With one, the origin is ``randint(c - crop, c)``
      (both ends included) clipped to the image, as the official code
      draws it: the centroid is mostly inside the crop, and crops of
      centroids near a border pile up at that border. The centroid comes
      from ``SFRandomRescale`` (``crop_centroid``, official ``int(c * s)``)
      or, after another resize, ``centroid`` times ``scale_factor``; like
      the official code it is not shifted by the padding.
    """

    def __init__(
        self,
        crop_size,
        cat_max_ratio=1.0,
        ignore_index=255,
        pad_to_crop=True,
        pad_val=0,
        seg_pad_val=255,
    ):
        super().__init__(crop_size, cat_max_ratio, ignore_index)
        self.pad_to_crop = pad_to_crop
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _pad(self, results):
        h, w = results['img'].shape[:2]
        th, tw = self.crop_size
        ph = (th - h) // 2 + 1 if th > h else 0
        pw = (tw - w) // 2 + 1 if tw > w else 0
        if not (ph or pw):
            return
        img = results['img']
        spec = ((ph, ph), (pw, pw)) + ((0, 0),) * (img.ndim - 2)
        results['img'] = np.pad(img, spec, constant_values=self.pad_val)
        for key in results.get('seg_fields', []):
            results[key] = np.pad(
                results[key],
                ((ph, ph), (pw, pw)),
                constant_values=self.seg_pad_val,
            )
        results['img_shape'] = results['img'].shape[:2]

    def transform(self, results):
        if self.pad_to_crop:
            self._pad(results)
        h, w = results['img'].shape[:2]
        if h < self.crop_size[0] or w < self.crop_size[1]:
            raise ValueError(
                f'SFCentroidCrop: crop_size {tuple(self.crop_size)} is larger '
                f'than the image ({h}, {w}) of {results.get("img_path")}; '
                'use pad_to_crop=True (official) or a smaller crop'
            )
        return super().transform(results)

    def _centroid(self, results):
        if results.get('crop_centroid') is not None:
            return results['crop_centroid']
        centroid = results.get('centroid')
        if centroid is None:
            return None
        sx, sy = results.get('scale_factor', (1.0, 1.0))
        return int(centroid[0] * sx), int(centroid[1] * sy)

    def crop_bbox(self, results):
        centroid = self._centroid(results)
        if centroid is None:
            return super().crop_bbox(results)
        h, w = results['img'].shape[:2]
        ch, cw = self.crop_size
        cx, cy = centroid
        x1 = min(max(np.random.randint(cx - cw, cx + 1), 0), w - cw)
        y1 = min(max(np.random.randint(cy - ch, cy + 1), 0), h - ch)
        return y1, y1 + ch, x1, x1 + cw
