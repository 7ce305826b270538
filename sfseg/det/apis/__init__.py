"""The panoptic path of ``tools/segment.py`` (mmdet detectors such as
K-Net): the detector loaded strictly, its predictors (PyTorch, or the
network in ONNX Runtime / OpenVINO) and the per-image outputs (overlay,
COCO panoptic PNG and JSON). :mod:`sfseg.det` registers it
(:mod:`sfseg.apis.segment_tasks`); it shares the semantic path's output
helpers (:mod:`sfseg.apis.segment_outputs`)."""
