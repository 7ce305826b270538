"""Helpers for checking sfseg against the official code and for the tests.

Not imported by ``import sfseg``. Used by the ``check_official_*`` tools,
the benchmarks and the tests:

- ``official_sfsegnets``: the official models built from a local
  lxtGH/SFSegNets clone under run-time shims; ``official_twin``: the
  official twin of an sfseg model, with the same weights;
- ``official_augmentation``: the official training augmentation next to
  sfseg's; ``same_draws``: both pipelines on the same random draws;
- ``official_training``: training steps of both codes side by side;
- ``official_layouts``: synthetic checkpoints in the official key
  layouts (``official_keys/``, shipped with this package).
"""
