"""K-Net's network as one traceable module, and its packed output.

:class:`KNetNetwork` is everything :meth:`KNet.predict` runs before the
thing/stuff merge (:meth:`KNet.predict_logits`): backbone, neck, kernel
head and every kernel update stage. The merge (``merge_panoptic``)
stays in Python.

The graph has one output because sfseg's runtime runners
(:func:`sfseg.deploy.runtimes.open_runtime`) return a graph's first
output: the class logits and the flattened mask logits of the last
stage are concatenated along the last axis (:func:`pack_outputs`), and
:func:`unpack_outputs` splits them again from the input size.
"""

import math

import torch
import torch.nn as nn
from torch import Tensor


def pack_outputs(cls_score: Tensor, mask_preds: Tensor) -> Tensor:
    """Class and mask logits side by side.

    Shape:
        - cls_score: (B, K, T+S)
        - mask_preds: (B, K, h, w)
        - output: (B, K, T+S + h*w)
    """
    return torch.cat([cls_score, mask_preds.flatten(2)], dim=2)


def unpack_outputs(packed, num_classes, input_shape):
    """Split :func:`pack_outputs`' result of an H x W input batch.

    The masks are at an integer stride s of the (padded) input, so
    h * w = H * W / s**2 gives s, h and w.

    Args:
        packed (Tensor | ndarray): (B, K, T+S + h*w).
        num_classes (int): T+S.
        input_shape (tuple[int, int]): (H, W) of the network input.

    Returns:
        tuple: cls_score (B, K, T+S) and mask_preds (B, K, h, w), of
        ``packed``'s type.
    """
    height, width = input_shape
    pixels = packed.shape[-1] - num_classes
    stride = round(math.sqrt(height * width / max(pixels, 1)))
    h, w = height // max(stride, 1), width // max(stride, 1)
    if pixels <= 0 or h * w != pixels:
        raise ValueError(
            f'a packed K-Net output of {packed.shape[-1]} values per '
            f'kernel does not hold {num_classes} class logits and a mask '
            f'at an integer stride of a {height} x {width} input'
        )
    batch_size, num_kernels = packed.shape[:2]
    return (
        packed[..., :num_classes],
        packed[..., num_classes:].reshape(batch_size, num_kernels, h, w),
    )


class KNetNetwork(nn.Module):
    """Normalised images -> last-stage logits of a built K-Net detector.

    Args:
        detector (KNet): The detector (its ``predict_logits`` runs).
        packed (bool): Return :func:`pack_outputs`' single tensor (the
            exported form) instead of the two tensors.

    Shape:
        - inputs: (B, 3, H, W) as the data preprocessor gives them
          (normalised, RGB for the configs, H and W padded to 32)
        - outputs: cls_score (B, N+S, T+S) and mask_preds
          (B, N+S, H/4, W/4) logits, or (B, N+S, T+S + H/4 * W/4) packed
    """

    def __init__(self, detector, packed=False):
        super().__init__()
        self.detector = detector
        self.packed = packed

    def forward(self, inputs):
        cls_score, mask_preds = self.detector.predict_logits(inputs)
        if self.packed:
            return pack_outputs(cls_score, mask_preds)
        return cls_score, mask_preds
