"""Synthetic data sets that the demo, the tests and the checks make for
themselves: toy driving scenes (:mod:`.driving`, Cityscapes layout) and a
toy COCO-panoptic set (:mod:`.panoptic`)."""
