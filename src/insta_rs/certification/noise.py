"""Per-example, reproducible Gaussian noise.

Every noise draw is keyed by ``(seed, example index, stream, ..., block)``: the samples an example
receives do not depend on the batch size, on the other examples of its batch, or on sharding.
Blocks hold :data:`NOISE_BLOCK` samples; draws are made block by block on the model's device.

A block's generator keeps every bit of its key's 128-bit BLAKE2b digest that the device's generator can
hold, so distinct keys give distinct streams: on the CPU, NumPy's Philox (a counter-based generator) keyed by
all 128 bits; on CUDA, torch's Philox seeded with 64 of them. (torch's CPU generator, a Mersenne Twister,
keeps only 32 bits of its seed: at paper scale two blocks of one certification would draw the same noise.)
The two devices draw different streams, so the device kind is part of what a run computes.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:  # the block arithmetic (NOISE_BLOCK) is read where torch is not needed
    import torch

SELECTION, ESTIMATION, SEARCH, TRAIN, PREDICTION = 0, 1, 2, 3, 4
NOISE_BLOCK = 1000


NoiseKey = tuple[int, ...]


def noise_key(seed: int, idx: int, stream: int, *extra: int) -> NoiseKey:
    """The key of one example's noise: run seed, example index, stream (and e.g. a level)."""
    return (seed, idx, stream, *extra)


def block_digest(key: NoiseKey, block: int) -> bytes:
    """The 128-bit BLAKE2b digest of ``(*key, block)``: well mixed, and about 20x cheaper than a NumPy
    SeedSequence (which matters for small blocks)."""
    fields = (*key, block)
    return hashlib.blake2b(struct.pack(f"<{len(fields)}q", *fields), digest_size=16).digest()


def draw_block(shape: tuple[int, ...], key: NoiseKey, block: int, size: int,
               generator: torch.Generator) -> torch.Tensor:
    """Block ``block`` of one example's noise: ``size`` standard normal rows of ``shape`` on ``generator``'s
    device, from a generator keyed by :func:`block_digest` (all 128 bits on the CPU, 64 on CUDA)."""
    import torch

    digest = block_digest(key, block)
    if generator.device.type == "cpu":
        philox = np.random.Generator(np.random.Philox(key=np.frombuffer(digest, dtype=np.uint64)))
        return torch.from_numpy(philox.standard_normal((size, *shape), dtype=np.float32))
    generator.manual_seed(int.from_bytes(digest[:8], "little"))
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
