"""Checks of sfseg's K-Net: against the official code and on toy runs.

Not imported by ``import sfseg`` (nor by ``import sfseg.det``); import the
module you need:

- :mod:`.knet_reference`: small sfseg K-Net heads with deterministic
  weights and inputs, their outputs part by part and the ``.npz``
  reference file (no official code needed);
- :mod:`.official_knet`: the official ZwwWayne/K-Net heads from a local
  clone under run-time shims, with outputs under the same keys;
- :mod:`.toy_runs`: K-Net configs shrunk to train on the toy panoptic set
  on the CPU;
- :mod:`.overfit`: train on the toy set and record the PQ curve.
"""
