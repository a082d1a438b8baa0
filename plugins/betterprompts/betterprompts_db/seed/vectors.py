"""Embeddings shaped like real text embeddings: topic clusters on the unit sphere, not uniform noise.

Centroids share a common direction (real embedding spaces are anisotropic: unrelated texts still
have positive similarity); each point is its cluster's centroid plus gaussian noise of the
cluster's own spread, L2-normalised. The data layer's codec (data.postgres.codecs) encodes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
SHARED_DIRECTION = 0.5  # weight of the direction every centroid shares
SPREAD = (0.6, 1.0)  # noise norm relative to the centroid's: cosine to centroid 0.86 .. 0.71
CHUNK = 4096


def normalised(matrix: Matrix) -> Matrix:
    result: Matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return result


class ClusterSpace:
    """`clusters` centroids in `dimension` dimensions, each with its own spread, from `seed`."""

    def __init__(self, seed: int, clusters: int, dimension: int) -> None:
        self.seed = seed
        self.dimension = dimension
        rng = np.random.default_rng([seed, 0])
        shared = rng.standard_normal(dimension, dtype=np.float32)
        shared *= SHARED_DIRECTION / np.linalg.norm(shared)
        raw = rng.standard_normal((clusters, dimension), dtype=np.float32)
        self.centroids = normalised(normalised(raw) + shared)
        self.spreads = rng.uniform(*SPREAD, size=clusters).astype(np.float32)

    def points(self, stream: int, clusters: Sequence[int]) -> Matrix:
        """Unit vectors for `clusters` (one per entry); `stream` keeps sources' noise independent."""
        labels = np.asarray(clusters, dtype=np.int64)
        out = np.empty((len(labels), self.dimension), dtype=np.float32)
        for start in range(0, len(labels), CHUNK):
            part = labels[start : start + CHUNK]
            rng = np.random.default_rng([self.seed, 1, stream, start // CHUNK])
            noise = rng.standard_normal((len(part), self.dimension), dtype=np.float32)
            noise *= (self.spreads[part] / np.sqrt(np.float32(self.dimension)))[:, None]
            out[start : start + len(part)] = normalised(self.centroids[part] + noise)
        return out
