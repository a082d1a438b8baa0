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

    def points(self, stream: int, clusters: Sequence[int], offset: int = 0) -> Matrix:
        """Unit vectors for `clusters` (one per entry) at positions `offset` onwards of `stream`, which
        keeps sources' noise independent: position p's vector is the same whichever batch holds it."""
        labels = np.asarray(clusters, dtype=np.int64)
        out = np.empty((len(labels), self.dimension), dtype=np.float32)
        position, end = offset, offset + len(labels)
        while position < end:
            chunk_start = position - position % CHUNK
            stop = min(chunk_start + CHUNK, end)
            rng = np.random.default_rng([self.seed, 1, stream, chunk_start // CHUNK])
            noise = rng.standard_normal((stop - chunk_start, self.dimension), dtype=np.float32)[
                position - chunk_start :
            ]
            part = labels[position - offset : stop - offset]
            noise *= (self.spreads[part] / np.sqrt(np.float32(self.dimension)))[:, None]
            out[position - offset : stop - offset] = normalised(self.centroids[part] + noise)
            position = stop
        return out
