"""Helpers for checking sfseg's K-Net against the official code and for
the K-Net tests and tools.

Not imported by ``import sfseg`` (nor by ``import sfseg.det``); import the
module you need:

- :mod:`.knet_reference`: small sfseg K-Net heads with deterministic
  weights and inputs, their outputs part by part and the ``.npz``
  reference file (no official code needed);
- :mod:`.official_knet`: the official ZwwWayne/K-Net heads from a local
  clone under run-time shims, with outputs under the same keys;
- :mod:`.toy_panoptic`: a tiny synthetic COCO-panoptic set and a K-Net
  config shrunk to train on it on CPU;
- :mod:`.overfit`: train on the toy set and record the PQ curve.
"""
