"""Noise-level search: :mod:`.algorithms` holds Algorithm 1 (instance-wise multiple-start FGSS), Algorithm 3 (uniform)
and the grid baseline on the label-free criteria of Eqs. (4) and (5); :mod:`.registry` the instance-wise search methods.

Imports :mod:`insta_rs.certification` and :mod:`insta_rs.levels`.
"""
