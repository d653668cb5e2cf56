"""Where and how a job computes: nothing here changes a result.

- :mod:`.device`: the device kind, precision and autocast;
- :mod:`.gpu_slots`: a GPU of its own for every GPU job on one machine;
- :mod:`.runlog`: step logs and progress (examples done, rate, ETA).

Imports nothing else of the package.
"""
