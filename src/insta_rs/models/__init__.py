"""Base classifiers and their checkpoints.

- :mod:`.architectures`: the registry of architectures (CIFAR ResNet-20/110, ResNet-50, the digits CNN) and input
  layers;
- :mod:`.checkpoints`: our checkpoints and the published layouts; ``pretrained.yaml``: the published archives.

Imports :mod:`insta_rs.data` (downloads) and :mod:`insta_rs.files`.
"""
