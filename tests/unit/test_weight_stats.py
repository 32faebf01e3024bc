"""Lesson 6's math on matrices whose answer we know: a power law with a known
exponent must come back with that exponent; random noise must not look trained."""

import numpy as np
import pytest

from core import weight_stats as ws


def test_spectrum_is_squared_singular_values_over_n():
    w = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    assert ws.eigenvalue_spectrum(w) == pytest.approx([0.25, 2.25])
    # Orientation doesn't matter: N is the longer side either way.
    assert ws.eigenvalue_spectrum(w.T) == pytest.approx([0.25, 2.25])


def test_tall_table_uses_the_gram_matrix_and_agrees_with_svd():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((400, 20))  # N >= 4M: the Gram-matrix path
    expected = np.sort(np.linalg.svd(w, compute_uv=False) ** 2 / 400)
    assert ws.eigenvalue_spectrum(w) == pytest.approx(expected, rel=1e-9)


def test_worked_number_from_the_docstring():
    assert ws.fit_power_law_tail([1.0, 2.0, 4.0], min_tail=3).alpha == pytest.approx(1 + 3 / np.log(8))


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_recovers_the_exponent_of_a_sampled_power_law(alpha):
    sample = ws.sample_power_law(alpha, n=3000, xmin=0.5, seed=7)
    fit = ws.fit_power_law_tail(sample)
    assert fit.alpha == pytest.approx(alpha, abs=4 * fit.sigma + 0.05)
    assert fit.ks_distance < 0.05


def test_finds_where_the_tail_starts_above_a_uniform_bulk():
    rng = np.random.default_rng(3)
    bulk = rng.uniform(0.01, 1.0, 700)            # not a power law
    tail = ws.sample_power_law(2.5, n=300, xmin=1.0, seed=4)
    fit = ws.fit_power_law_tail(np.concatenate([bulk, tail]))
    assert fit.xmin == pytest.approx(1.0, rel=0.35)
    assert fit.alpha == pytest.approx(2.5, abs=0.35)


def test_matrix_with_a_power_law_spectrum_gets_its_alpha_back():
    eigenvalues = ws.sample_power_law(3.0, n=300, xmin=0.1, seed=11)
    w = ws.matrix_with_spectrum(eigenvalues, n_rows=600, seed=2)
    assert ws.eigenvalue_spectrum(w) == pytest.approx(np.sort(eigenvalues), rel=1e-6)
    layer = ws.layer_alpha("encoder.layer.2.attention.self.value", w)
    assert layer.label == "L2 value"
    assert layer.shape == (600, 300)
    assert layer.alpha == pytest.approx(3.0, abs=0.5)
    assert ws.in_band(layer.alpha)


def test_random_noise_does_not_look_well_trained():
    # A Gaussian random matrix (an untrained layer) has a compact Marchenko-Pastur
    # spectrum: no heavy tail, so the fitted alpha lands far above the band.
    w = np.random.default_rng(5).standard_normal((768, 384))
    layer = ws.layer_alpha("encoder.layer.0.intermediate.dense", w)
    assert layer.alpha > ws.WELL_TRAINED_BAND[1]
    assert not ws.in_band(layer.alpha)


def test_too_few_eigenvalues_and_wrong_shapes_say_so():
    with pytest.raises(ValueError, match="at least 10"):
        ws.fit_power_law_tail([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="2 dimensions"):
        ws.eigenvalue_spectrum(np.ones(5))
    with pytest.raises(ValueError, match="no tail"):
        ws.fit_power_law_tail(np.ones(20))


def test_spectrum_with_fit_is_ready_for_a_log_log_chart():
    eigenvalues = ws.sample_power_law(2.5, n=384, xmin=1.0, seed=8)
    chart = ws.spectrum_with_fit(ws.matrix_with_spectrum(eigenvalues, 384, seed=1))
    assert chart["n"] == 384 and 10 <= chart["n_tail"] <= 384
    assert len(chart["centres"]) == len(chart["density"]) > 5
    assert all(d > 0 for d in chart["density"])
    # The fit line falls with slope -alpha on log-log axes.
    x, y = np.array(chart["fit_x"]), np.array(chart["fit_y"])
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert slope == pytest.approx(-chart["alpha"], rel=1e-6)


def test_short_labels_name_the_bert_parts():
    assert ws.short_label("encoder.layer.3.intermediate.dense") == "L3 ffn-in"
    assert ws.short_label("bert.encoder.layer.0.attention.output.dense") == "L0 attn-out"
    assert ws.short_label("embeddings.word_embeddings") == "word emb."
    assert ws.short_label("pooler.dense") == "pooler"


def test_model_alphas_reads_every_linear_layer_of_a_bert(tiny_bert_dir):
    from core import models

    model = models.load_encoder(tiny_bert_dir)
    layers = ws.model_alphas(model, min_eigenvalues=16)
    labels = [layer.label for layer in layers]
    # 2 transformer layers x 6 matrices, the position table and the pooler (the
    # 2-row token-type table has too few eigenvalues to fit).
    assert labels.count("L0 query") == 1 and labels.count("L1 ffn-out") == 1
    assert len([label for label in labels if label.startswith("L")]) == 12
    assert all(np.isfinite(layer.alpha) and layer.alpha > 1 for layer in layers)
    stopped = ws.model_alphas(model, should_stop=lambda: True, min_eigenvalues=16)
    assert stopped == []
