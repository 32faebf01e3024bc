"""From many numbers to two (core/projection.py): shapes, variance explained, determinism."""

import numpy as np
import pytest

from core import projection


def clusters(seed=0, per=20, dims=16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, size=(3, dims))
    return np.vstack([c + rng.normal(0, 0.5, size=(per, dims)) for c in centres])


def test_pca_of_points_on_a_line_explains_everything():
    fitted = projection.fit_pca([[0, 0], [1, 2], [2, 4]])
    assert np.allclose(fitted.components[0], [0.4472, 0.8944], atol=1e-4)
    assert fitted.explained[0] == pytest.approx(1.0)


def test_pca_shape_variance_and_agreement_with_scikit_learn():
    from sklearn.decomposition import PCA

    data = clusters()
    result = projection.pca(data)
    assert result.points.shape == (60, 2)
    assert 0 < result.explained[1] <= result.explained[0] < 1
    reference = PCA(n_components=2).fit(data)
    assert np.allclose(result.explained, reference.explained_variance_ratio_)
    # Same axes up to sign.
    for axis in range(2):
        ours, theirs = result.points[:, axis], reference.transform(data)[:, axis]
        assert np.allclose(np.abs(ours), np.abs(theirs), atol=1e-6)


def test_pca_places_new_points_without_moving_old_ones():
    data = clusters()
    fitted = projection.fit_pca(data)
    before = fitted.transform(data)
    assert np.allclose(fitted.transform(data[:1]), before[:1])
    assert np.allclose(projection.pca(data).points, before)


def test_pca_is_deterministic():
    data = clusters()
    assert np.array_equal(projection.pca(data).points, projection.pca(data.copy()).points)


def test_tsne_shape_and_same_seed_same_map():
    data = clusters(per=15)
    first = projection.tsne(data, seed=7)
    again = projection.tsne(data, seed=7)
    assert first.points.shape == (45, 2)
    assert np.allclose(first.points, again.points)
    assert first.explained == ()


def test_tsne_keeps_clusters_apart():
    data = clusters(per=15)
    points = projection.tsne(data, seed=0, metric="euclidean").points
    centres = [points[i * 15:(i + 1) * 15].mean(axis=0) for i in range(3)]
    spread = max(np.linalg.norm(points[i * 15:(i + 1) * 15] - centres[i], axis=1).mean() for i in range(3))
    gaps = min(np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3))
    assert gaps > 2 * spread


def test_tiny_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="two"):
        projection.pca([[1.0, 2.0]])
    with pytest.raises(ValueError, match="three"):
        projection.tsne([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError):
        projection.project([[1.0], [2.0]], method="UMAP")


def test_map_places_extra_sentences_pca_without_moving_the_data():
    data = clusters()
    alone = projection.map_with_extras(data, None, "PCA")
    extra = data[:2] + 0.01
    with_extra = projection.map_with_extras(data, extra, "PCA")
    assert alone.extra_points.shape == (0, 2) and with_extra.extra_points.shape == (2, 2)
    assert np.allclose(alone.points, with_extra.points)
    assert np.allclose(with_extra.extra_points, with_extra.points[:2], atol=0.1)
    assert with_extra.explained[0] > 0


def test_map_with_tsne_recomputes_everything_deterministically():
    data = clusters(per=12)
    first = projection.map_with_extras(data, data[:1], "t-SNE", seed=3)
    again = projection.map_with_extras(data, data[:1], "t-SNE", seed=3)
    assert first.points.shape == (36, 2) and first.extra_points.shape == (1, 2)
    assert np.allclose(first.extra_points, again.extra_points)
