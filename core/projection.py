"""From 384 numbers to 2: putting sentence embeddings on a map.

Two ways, both deterministic:
- PCA keeps the two directions along which the sentences differ most. It is a
  rotation plus a shadow on a wall, so straight-line geometry survives (roughly)
  and new sentences can be placed on the same map without moving the old ones.
  It also says how much of the spread it kept: "% of variance explained".
- t-SNE (scikit-learn, seeded) rearranges points so that near neighbours stay
  near. Clusters look crisp, but distances between clusters and cluster sizes
  mean little, and adding a point means recomputing the whole map.

UMAP would be a third option; it needs `umap-learn` plus numba (a heavy
compile-on-first-use dependency) and tells this audience nothing t-SNE doesn't,
so the app leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("PCA", "t-SNE")


@dataclass
class Projection:
    points: np.ndarray                      # (n, 2)
    method: str
    explained: tuple[float, ...] = ()       # PCA only: share of variance per axis, e.g. (0.21, 0.12)

    @property
    def explained_total(self) -> float:
        return float(sum(self.explained))


@dataclass
class PCA:
    """A fitted PCA: the mean and the principal directions of the data it saw."""

    mean: np.ndarray                        # (dims,)
    components: np.ndarray                  # (2, dims), unit rows
    explained: tuple[float, ...]

    def transform(self, vectors) -> np.ndarray:
        """Where any vector lands on the fitted map (new sentences included)."""
        return (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.components.T


def fit_pca(vectors, n_components: int = 2) -> PCA:
    """Principal directions by singular value decomposition of the centred data.

    For points on the line y = 2x, e.g. [[0, 0], [1, 2], [2, 4]], the first
    direction is (0.447, 0.894) and explains 100% of the variance. Each
    direction's sign is fixed (largest entry positive) so reruns draw the same map."""
    data = np.asarray(vectors, dtype=np.float64)
    if data.ndim != 2 or len(data) < 2:
        raise ValueError("PCA needs at least two vectors.")
    mean = data.mean(axis=0)
    centred = data - mean
    with _one_thread():  # a 500 x 384 SVD is too small to gain from threads, and they spin on a busy CPU
        _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    k = min(n_components, directions.shape[0])
    components = directions[:k].copy()
    flip = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    components *= np.where(flip == 0, 1.0, flip)[:, None]
    variance = singular ** 2
    total = variance.sum()
    explained = tuple(float(v / total) if total > 0 else 0.0 for v in variance[:k])
    if k < n_components:  # fewer points than axes: pad with a zero axis so the map stays 2-D
        components = np.vstack([components, np.zeros((n_components - k, data.shape[1]))])
        explained += (0.0,) * (n_components - k)
    return PCA(mean, components, explained)


def pca(vectors) -> Projection:
    fitted = fit_pca(vectors)
    return Projection(fitted.transform(vectors), "PCA", fitted.explained)


def tsne(vectors, seed: int = 0, metric: str = "cosine", perplexity: float = 30.0) -> Projection:
    """t-SNE to 2-D with a fixed seed (same input, same seed -> the same map).

    Perplexity (roughly: how many neighbours each point pays attention to) must
    be below the number of points; small sets get a smaller one automatically."""
    from sklearn.manifold import TSNE

    data = np.asarray(vectors, dtype=np.float32)
    n = len(data)
    if n < 3:
        raise ValueError("t-SNE needs at least three sentences.")
    perplexity = float(min(perplexity, max(1.0, (n - 1) / 3)))
    model = TSNE(n_components=2, perplexity=perplexity, metric=metric, init="pca",
                 random_state=seed, n_jobs=1)
    # One thread: t-SNE's OpenMP threads spin-wait, and on a busy shared CPU that made
    # 500 points take 62 s instead of 5 s (measured); on an idle machine 1 thread costs little.
    with _one_thread():
        points = model.fit_transform(data)
    return Projection(points.astype(np.float64), "t-SNE")


def _one_thread():
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    return threadpool_limits(limits=1)


def project(vectors, method: str = "PCA", seed: int = 0, metric: str = "cosine") -> Projection:
    if method == "PCA":
        return pca(vectors)
    if method == "t-SNE":
        return tsne(vectors, seed=seed, metric=metric)
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


@dataclass
class Map:
    """A 2-D map of a dataset plus some extra sentences placed on it."""

    points: np.ndarray                      # (n, 2): the dataset
    extra_points: np.ndarray                # (m, 2): the visitor's sentences
    method: str
    explained: tuple[float, ...] = ()

    @property
    def explained_total(self) -> float:
        return float(sum(self.explained))


def map_with_extras(vectors, extra_vectors=None, method: str = "PCA", seed: int = 0,
                    metric: str = "cosine") -> Map:
    """Project a dataset and place extra vectors on the same map.

    PCA is fitted on the dataset alone and then places the extras, so adding a
    sentence never moves the others. t-SNE has no "place a new point": the
    extras join the data and the whole map is recomputed (with the same seed)."""
    data = np.asarray(vectors, dtype=np.float64)
    extra = np.zeros((0, data.shape[1])) if extra_vectors is None or len(extra_vectors) == 0 \
        else np.asarray(extra_vectors, dtype=np.float64)
    if method == "PCA":
        fitted = fit_pca(data)
        return Map(fitted.transform(data), fitted.transform(extra) if len(extra) else np.zeros((0, 2)),
                   "PCA", fitted.explained)
    if method == "t-SNE":
        both = tsne(np.vstack([data, extra]), seed=seed, metric=metric).points
        return Map(both[:len(data)], both[len(data):], "t-SNE")
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")
