"""The smoothed classifier ``g(x) = argmax_c P[f(x + sigma * eps) = c]``: Cohen et al.'s CERTIFY and
PREDICT, the sequential CERTIFY of :mod:`insta_rs.certification.sequential`, and the soft estimates of Eq. (4),
batched across examples.

The noisy samples of several examples share one forward batch. Noise is drawn per example and
block (:mod:`insta_rs.certification.noise`), so an example's result depends only on its own index and seed.
Noise is added in pixel space; normalization is the model's first layer.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from insta_rs.certification.noise import (
    ESTIMATION,
    NOISE_BLOCK,
    PREDICTION,
    SEARCH,
    SELECTION,
    NoiseKey,
    block_size,
    draw_block,
    noise_blocks,
    noise_key,
)
from insta_rs.certification.records import ABSTAIN
from insta_rs.certification.sequential import SequentialRule
from insta_rs.certification.stats import cohen_radius, pA_lower_bound, predict_pvalue
from insta_rs.runtime.device import autocast, tune_for_throughput
from insta_rs.runtime.runlog import Progress


@dataclass
class Certificates:
    """CERTIFY's output for a batch of examples (arrays of equal length)."""

    predict: np.ndarray   # class, or ABSTAIN
    radius: np.ndarray    # sigma * PhiInv(pA_lower), 0 on abstain
    pA_lower: np.ndarray  # lower confidence bound on pA at level alpha (sequential: max over the rounds)
    c_hat: np.ndarray     # the class selected with the N0 samples (kept on abstain)
    nA: np.ndarray        # estimation count of c_hat
    nB: np.ndarray        # largest estimation count among the other classes
    n0A: np.ndarray       # selection count of c_hat
    n_used: np.ndarray    # estimation samples drawn (n for fixed-N CERTIFY)


def per_example(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a per-example vector ``[B]`` to broadcast against ``x`` of shape ``[B, ...]``."""
    return values.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))


def soft_scores(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, sigma: torch.Tensor,
                noise: torch.Tensor) -> torch.Tensor:
    """The soft smoothed classifier of Eq. (4), ``g_soft(x_i, sigma_i) = mean_j softmax f(x_i + sigma_i eps_ij)``,
    ``[B, C]`` (float32), for ``noise`` ``[B, m, ...]``: one implementation for test time (the keyed streams of
    :meth:`Smoother.soft_scores`) and training (the training loop's generator); only the noise differs."""
    batch, m = noise.shape[:2]
    noisy = x.unsqueeze(1) + per_example(sigma, noise) * noise
    logits = forward(noisy.reshape(batch * m, *x.shape[1:]))
    return torch.softmax(logits.float(), dim=1).view(batch, m, -1).mean(dim=1)


class Smoother:
    """Monte Carlo access to the Gaussian smoothing of ``model`` (a classifier on pixel-space inputs)."""

    def __init__(self, model: torch.nn.Module, num_classes: int, batch_size: int = 1000,
                 device: torch.device | str = "cpu", autocast_dtype: torch.dtype | None = None):
        self.device = torch.device(device)
        self.model = tune_for_throughput(model.eval().to(self.device), self.device)
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.autocast_dtype = autocast_dtype
        self.generator = torch.Generator(device=self.device)
        self.progress: Progress | None = None  # counts forward passes while set (:meth:`reporting`)

    @contextlib.contextmanager
    def reporting(self, progress: Progress) -> Iterator[Progress]:
        """Count every noisy forward pass in ``progress`` (its log gives rate and ETA) while the block runs."""
        self.progress = progress
        try:
            yield progress
        finally:
            self.progress = None

    @torch.no_grad()
    def _noisy_logits(self, x: torch.Tensor, sigma: np.ndarray, keys: list[NoiseKey],
                      n_samples: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(owner, logits)`` for ``f(x_i + sigma_i * eps)``, ``n_samples`` per row ``i`` of ``x``,
        the noise of row ``i`` drawn from ``keys[i]``.

        ``owner`` holds the row of ``x`` each logit belongs to; it is reused between batches.
        """
        shape = tuple(x.shape[1:])
        batch, owner = self._batch_buffers(shape)
        filled = 0
        for row in range(len(x)):
            x_row = x[row].to(self.device)
            sigma_row = float(sigma[row])
            for block in noise_blocks(shape, n_samples, keys[row], self.generator):
                start = 0
                while start < len(block):
                    take = min(len(block) - start, self.batch_size - filled)
                    torch.add(x_row, block[start:start + take], alpha=sigma_row,
                              out=batch[filled:filled + take])
                    owner[filled:filled + take] = row
                    filled += take
                    start += take
                    if filled == self.batch_size:
                        yield owner, self._forward(batch)
                        filled = 0
        if filled:
            yield owner[:filled], self._forward(batch[:filled])

    def _batch_buffers(self, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """An empty forward batch of ``batch_size`` inputs of ``shape`` and the row owning each place."""
        batch = torch.empty((self.batch_size, *shape), device=self.device)
        if batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch, torch.empty(self.batch_size, dtype=torch.long, device=self.device)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)  # a no-op for the batch buffers
        with autocast(self.device, self.autocast_dtype):
            logits = self.model(batch)
        if self.progress is not None:
            self.progress.update(len(batch))
        return logits

    def sample_counts(self, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n_samples: int,
                      seed: int, stream: int) -> np.ndarray:
        """Class counts ``[len(x), num_classes]`` of ``f(x_i + sigma_i * eps)`` over ``n_samples`` draws."""
        counts = torch.zeros(len(x) * self.num_classes, dtype=torch.long, device=self.device)
        keys = [noise_key(seed, int(i), stream) for i in idx]
        for owner, logits in self._noisy_logits(x, sigma, keys, n_samples):
            flat = owner * self.num_classes + logits.argmax(dim=1)
            counts.index_add_(0, flat, torch.ones_like(flat))
        return counts.view(len(x), self.num_classes).cpu().numpy()

    @torch.no_grad()
    def soft_scores(self, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n_samples: int,
                    seed: int, common_noise: bool = True) -> np.ndarray:
        """:func:`soft_scores` (Eq. 4) of every row of ``x`` at ``sigma``, ``[len(x), C]``, over ``n_samples``
        noise vectors per row, as many rows per forward pass as ``batch_size`` holds (at least one).

        Draws come from the SEARCH stream, independent of the certification samples. With
        ``common_noise`` every sigma of one example uses the same ``eps_j`` (common random numbers);
        otherwise each (example, sigma) pair gets its own draws.
        """
        keys = [noise_key(seed, int(i), SEARCH) if common_noise else noise_key(seed, int(i), SEARCH, round(s * 1e6))
                for i, s in zip(idx, sigma)]
        shape, rows_per_pass = tuple(x.shape[1:]), max(1, self.batch_size // n_samples)
        scores = np.empty((len(x), self.num_classes))
        for start in range(0, len(x), rows_per_pass):
            rows = range(start, min(start + rows_per_pass, len(x)))
            noise = torch.stack([torch.cat(list(noise_blocks(shape, n_samples, keys[row], self.generator)))
                                 for row in rows]).to(self.device)
            sigmas = torch.as_tensor(sigma[rows.start:rows.stop], dtype=torch.float32, device=self.device)
            scores[rows.start:rows.stop] = soft_scores(self._forward, x[rows.start:rows.stop].to(self.device),
                                                       sigmas, noise).cpu().numpy()
        return scores

    def certify(self, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        """Cohen et al. CERTIFY: select ``c_hat`` with ``n0`` samples, bound ``pA`` with ``n`` fresh ones.

        ``pA_lower = beta.ppf(alpha, nA, n - nA + 1)``; abstain when ``pA_lower < 1/2``, else
        radius ``sigma * PhiInv(pA_lower)``.
        """
        rows = np.arange(len(x))
        selection = self.sample_counts(x, sigma, idx, n0, seed, SELECTION)
        c_hat = selection.argmax(axis=1)
        estimation = self.sample_counts(x, sigma, idx, n, seed, ESTIMATION)
        nA = estimation[rows, c_hat]
        estimation[rows, c_hat] = -1
        pA_lower = pA_lower_bound(nA, n, alpha)
        abstain = pA_lower < 0.5
        return Certificates(predict=np.where(abstain, ABSTAIN, c_hat),
                            radius=np.where(abstain, 0.0, cohen_radius(sigma, pA_lower)),
                            pA_lower=pA_lower, c_hat=c_hat, nA=nA, nB=estimation.max(axis=1),
                            n0A=selection[rows, c_hat], n_used=np.full(len(x), n))

    @torch.no_grad()
    def certify_sequential(self, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, seed: int,
                           rule: SequentialRule) -> Certificates:
        """Sequential CERTIFY (:mod:`insta_rs.certification.sequential`): CERTIFY's selection, then estimation rounds
        until ``rule`` stops each example; ``pA_lower`` is the running maximum of the round bounds.

        Continuous batching: an example's next round joins the forward batches once its current round
        is counted, and a new example is started whenever the examples under way leave room, so every
        batch is full until the last examples. Each example reads the prefix of its own ESTIMATION
        stream (the blocks fixed-N CERTIFY draws at ``n = rule.schedule.cap``; a round inside a block
        re-draws it and takes its slice), so its counts, stopping round and certificate do not depend
        on the batch size, on the other examples or on their order.
        """
        rows = np.arange(len(x))
        selection = self.sample_counts(x, sigma, idx, n0, seed, SELECTION)
        c_hat = selection.argmax(axis=1)
        ends, cap = rule.schedule.ends, rule.schedule.cap
        keys = [noise_key(seed, int(i), ESTIMATION) for i in idx]
        counts = np.zeros((len(x), self.num_classes), dtype=np.int64)
        drawn = np.zeros(len(x), dtype=np.int64)         # estimation samples placed in forward batches
        round_of = np.zeros(len(x), dtype=np.int64)      # the round under way
        pA_lower = np.zeros(len(x))
        shape = tuple(x.shape[1:])
        x = x.to(self.device)
        batch, owner = self._batch_buffers(shape)
        in_flight: list[int] = []   # started, not stopped, in the order started
        n_started = 0
        while True:
            filled, members = 0, []
            for row in itertools.chain(list(in_flight), range(n_started, len(x))):
                if row == n_started:
                    in_flight.append(row)
                    n_started += 1
                end = int(ends[round_of[row]])
                while drawn[row] < end and filled < self.batch_size:
                    block, offset = divmod(int(drawn[row]), NOISE_BLOCK)
                    take = min(end - int(drawn[row]), NOISE_BLOCK - offset, self.batch_size - filled)
                    noise = draw_block(shape, keys[row], block, block_size(cap, block), self.generator)
                    torch.add(x[row], noise[offset:offset + take], alpha=float(sigma[row]),
                              out=batch[filled:filled + take])
                    owner[filled:filled + take] = len(members)
                    filled += take
                    drawn[row] += take
                members.append(row)
                if filled == self.batch_size:
                    break
            if not filled:
                break
            classes = self._forward(batch[:filled]).argmax(dim=1)
            flat = owner[:filled] * self.num_classes + classes
            counts[members] += torch.bincount(flat, minlength=len(members) * self.num_classes).view(
                len(members), self.num_classes).cpu().numpy()
            finished = np.array([row for row in members if drawn[row] == ends[round_of[row]]], dtype=int)
            finished_round = round_of[finished]
            for k, sigma_k in set(zip(finished_round.tolist(), sigma[finished].tolist())):  # one call per group
                group = finished[(finished_round == k) & (sigma[finished] == sigma_k)]
                nA = counts[group, c_hat[group]]
                pA_lower[group] = np.maximum(pA_lower[group], rule.schedule.lower(k, nA))
                stop = rule.stop(k, nA, sigma_k)
                round_of[group[~stop]] += 1
                for row in group[stop]:
                    in_flight.remove(row)
        nA = counts[rows, c_hat]
        counts[rows, c_hat] = -1
        abstain = pA_lower < 0.5
        return Certificates(predict=np.where(abstain, ABSTAIN, c_hat),
                            radius=np.where(abstain, 0.0, rule.radius(pA_lower, sigma)),
                            pA_lower=pA_lower, c_hat=c_hat, nA=nA, nB=counts.max(axis=1),
                            n0A=selection[rows, c_hat], n_used=drawn)

    def predict(self, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n: int, alpha: float,
                seed: int) -> np.ndarray:
        """Cohen et al. PREDICT: the top class when the binomial test of the top two counts has
        p-value <= alpha, else ABSTAIN."""
        counts = self.sample_counts(x, sigma, idx, n, seed, PREDICTION)
        top_two = np.argsort(-counts, axis=1, kind="stable")[:, :2]
        rows = np.arange(len(x))
        nA, nB = counts[rows, top_two[:, 0]], counts[rows, top_two[:, 1]]
        confident = np.array([predict_pvalue(a, b) <= alpha for a, b in zip(nA, nB)], dtype=bool)
        return np.where(confident, top_two[:, 0], ABSTAIN)
