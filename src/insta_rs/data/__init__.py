"""Data sets and downloads.

- :mod:`.datasets`: digits, CIFAR-10, ImageNet and image folders; their splits (train, validation, test subset);
- :mod:`.fetch`: downloads checked against the announced size and a sha256; :mod:`.sums`: the recorded sums.

Imports :mod:`insta_rs.files` only.
"""
