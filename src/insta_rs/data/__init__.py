"""Data sets and downloads.

- :mod:`.datasets`: the kinds of data set (digits, CIFAR-10, ImageNet, image folders); their splits (train,
  validation, test subset); :mod:`.sources`: each kind's loader, validation hold-out and what it lacks on disk;
- :mod:`.fetch`: downloads checked against the announced size and a sha256; :mod:`.sums`: the recorded sums.

Imports :mod:`insta_rs.files` only.
"""
