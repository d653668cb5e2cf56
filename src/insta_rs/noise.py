"""Per-example, reproducible Gaussian noise.

Every noise draw is keyed by ``(seed, example index, stream, ..., block)``: the samples an example
receives do not depend on the batch size, on the other examples of its batch, or on sharding.
Blocks hold :data:`NOISE_BLOCK` samples; draws are made block by block on the model's device.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Iterator

import torch

SELECTION, ESTIMATION, SEARCH, TRAIN, PREDICTION = 0, 1, 2, 3, 4
NOISE_BLOCK = 1000


NoiseKey = tuple[int, ...]


def noise_key(seed: int, idx: int, stream: int, *extra: int) -> NoiseKey:
    """The key of one example's noise: run seed, example index, stream (and e.g. a level)."""
    return (seed, idx, stream, *extra)


def block_seed(key: NoiseKey, block: int) -> int:
    """A 64-bit seed for one noise block: the BLAKE2b hash of ``(*key, block)`` (well mixed, and about
    20x cheaper than a SeedSequence, which matters for blocks of 100 samples)."""
    fields = (*key, block)
    digest = hashlib.blake2b(struct.pack(f"<{len(fields)}q", *fields), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def draw_block(shape: tuple[int, ...], key: NoiseKey, block: int, size: int,
               generator: torch.Generator) -> torch.Tensor:
    """Block ``block`` of one example's noise: ``size`` standard normal rows of ``shape``, drawn from
    ``generator`` reseeded with ``block_seed(key, block)``."""
    generator.manual_seed(block_seed(key, block))
    return torch.randn((size, *shape), generator=generator, device=generator.device)


def block_size(n_samples: int, block: int) -> int:
    """Rows of block ``block`` in a stream of ``n_samples``: NOISE_BLOCK, fewer in the last block."""
    return min(NOISE_BLOCK, n_samples - block * NOISE_BLOCK)


def noise_blocks(shape: tuple[int, ...], n_samples: int, key: NoiseKey,
                 generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Standard normal noise for one example, ``n_samples`` rows of ``shape``, yielded block by block
    (:func:`draw_block`), so the stream is identical however the caller batches it."""
    for block in range((n_samples + NOISE_BLOCK - 1) // NOISE_BLOCK):
        yield draw_block(shape, key, block, block_size(n_samples, block), generator)
