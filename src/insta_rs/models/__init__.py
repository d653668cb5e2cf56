"""Base classifiers and their checkpoints.

- :mod:`.names`: the names of architectures and input layers a config may use;
- :mod:`.architectures`: the architectures (CIFAR ResNet-20/110, ResNet-50, the digits CNN) and input
  layers;
- :mod:`.checkpoints`: our checkpoints and the published layouts; ``pretrained.yaml``: the published archives.

Imports :mod:`insta_rs.data` (downloads) and :mod:`insta_rs.files`.
"""
