"""The from-scratch network: the talk's worked numbers, and every hand-written piece
checked against PyTorch (softmax, losses, autograd) and finite differences."""

import math

import numpy as np
import pytest

from core import fizzbuzz, fizzbuzz_torch, scratch

import torch  # a requirement: a missing torch must fail these tests, not skip them


# --- the talk's numbers ---------------------------------------------------------------

def test_a_network_is_multiplication_3_times_0_2_is_0_6():
    assert scratch.neural_network(3, 0.2) == pytest.approx(0.6)


def test_weighted_sum_of_3s_encoding_is_2_1():
    assert scratch.w_sum(fizzbuzz.mod_encoding(3), [0.5, 0.7]) == pytest.approx(2.1)
    assert scratch.weighted_sum_terms([0, 3], [0.5, 0.7]) == pytest.approx([0.0, 2.1])
    with pytest.raises(ValueError, match="same length"):
        scratch.w_sum([1, 2, 3], [1, 2])


def test_vector_matrix_product_is_one_weighted_sum_per_class():
    weights = [[0.5, 0.7], [0.3, 0.1], [0.2, 0.1], [0.1, 0.05]]
    assert scratch.vect_mat_mul([0, 3], weights) == pytest.approx([2.1, 0.3, 0.3, 0.15])
    assert scratch.vect_mat_mul([0, 3], weights) == pytest.approx(list(np.array([0, 3]) @ np.array(weights).T))


def test_dividing_the_talks_scores_by_their_total_gives_about_0_6_0_2_0_2():
    assert scratch.normalise_by_total([0.89, 0.3, 0.3]) == pytest.approx([0.6, 0.2, 0.2], abs=0.01)


def test_dividing_by_the_total_breaks_with_negative_scores_and_softmax_does_not():
    scores = [1.0, -0.6, -0.2]
    shares = scratch.normalise_by_total(scores)
    assert shares.min() < 0 and shares.max() > 1
    probs = scratch.softmax(scores)
    assert (probs > 0).all() and probs.sum() == pytest.approx(1)
    assert list(np.argsort(probs)) == list(np.argsort(scores))


def test_squared_error_of_the_talks_prediction_is_about_0_25():
    assert scratch.squared_error([0.6, 0.2, 0.2], [1, 0, 0]) == pytest.approx(0.24)
    assert scratch.squared_error(list(scratch.TALK_CONFIDENCES), [1, 0, 0]) == pytest.approx(0.2564)  # talk: 0.25
    assert scratch.normalise_by_total(scratch.SCORES_FOR_TALK_CONFIDENCES) == pytest.approx([0.58, 0.2, 0.2, 0.02])
    assert scratch.cross_entropy([0.6, 0.2, 0.2], [1, 0, 0]) == pytest.approx(-math.log(0.6))


def test_relu_keeps_the_positives():
    assert scratch.relu([-1, 2, 0]).tolist() == [0, 2, 0]


# --- against PyTorch ---------------------------------------------------------------------

def test_softmax_matches_torch_even_for_huge_scores():
    rng = np.random.default_rng(0)
    scores = np.vstack([rng.normal(size=(5, 4)) * 3, [[1000.0, 999.0, -1000.0, 0.0]]])
    expected = torch.softmax(torch.from_numpy(scores), dim=1).numpy()
    assert np.allclose(scratch.softmax(scores), expected, atol=1e-12)
    assert np.isfinite(scratch.softmax(scores)).all()


def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(8, 4))
    labels = rng.integers(0, 4, size=8)
    ours = scratch.cross_entropy(scratch.softmax(scores), np.eye(4)[labels]).mean()
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(scores), torch.from_numpy(labels)).item()
    assert ours == pytest.approx(theirs, rel=1e-10)


NETWORKS = [  # (encoding, hidden units, biases)
    ("mod", 3, True), ("mod", 0, True), ("mod", 5, False), ("binary", 7, True),
]


def _autograd(params, inputs, targets, loss):
    """PyTorch's gradients of scratch's own error function, for comparison."""
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x = torch.from_numpy(inputs)
    if "W2" in tensors:
        hidden = torch.relu(x @ tensors["W1"] + tensors.get("b1", 0))
        scores = hidden @ tensors["W2"] + tensors.get("b2", 0)
    else:
        scores = x @ tensors["W1"] + tensors.get("b1", 0)
    probs = torch.softmax(scores, dim=1)
    t = torch.from_numpy(targets)
    per_row = -(t * torch.log(probs)).sum(1) if loss == "cross_entropy" else ((probs - t) ** 2).sum(1)
    per_row.mean().backward()
    return {k: v.grad.numpy() for k, v in tensors.items()}


@pytest.mark.parametrize("loss", scratch.LOSSES)
@pytest.mark.parametrize("encoding, hidden, bias", NETWORKS)
def test_backward_matches_torch_autograd(encoding, hidden, bias, loss):
    data = fizzbuzz.make_dataset(1, 60, encoding)
    params = scratch.init_network(data.inputs.shape[1], hidden, seed=3, bias=bias)
    ours = scratch.backward(params, scratch.forward(params, data.inputs), data.targets, loss)
    theirs = _autograd(params, data.inputs, data.targets, loss)
    assert set(ours) == set(params) == set(theirs)
    for name in params:
        assert np.allclose(ours[name], theirs[name], atol=1e-10), name


@pytest.mark.parametrize("loss", scratch.LOSSES)
def test_backward_matches_finite_differences(loss):
    data = fizzbuzz.make_dataset(1, 30)
    params = scratch.init_network(2, 3, seed=5)
    # Non-zero biases: with zero ones, 15 -> [0, 0] sits exactly on ReLU's kink, where the
    # slope from the left and from the right differ and a finite difference straddles both.
    rng = np.random.default_rng(6)
    params["b1"] = rng.normal(size=3)
    params["b2"] = rng.normal(size=4)
    grads = scratch.backward(params, scratch.forward(params, data.inputs), data.targets, loss)
    eps = 1e-6
    for name, value in params.items():
        for index in np.ndindex(value.shape):
            nudged_up = {k: v.copy() for k, v in params.items()}
            nudged_down = {k: v.copy() for k, v in params.items()}
            nudged_up[name][index] += eps
            nudged_down[name][index] -= eps
            slope = (scratch.mean_error(nudged_up, data.inputs, data.targets, loss)
                     - scratch.mean_error(nudged_down, data.inputs, data.targets, loss)) / (2 * eps)
            assert grads[name][index] == pytest.approx(slope, abs=1e-6), (name, index)


def test_the_torch_version_ends_with_the_same_weights_as_the_numpy_one():
    config = scratch.TrainConfig(epochs=60)
    by_hand = scratch.run_training(config)
    framework = fizzbuzz_torch.train_torch(config)
    assert framework.status == by_hand.status == "done"
    for name in by_hand.params:
        assert np.allclose(by_hand.params[name], framework.params[name], atol=1e-9)
    assert [c.train_error for c in framework.history] == pytest.approx([c.train_error for c in by_hand.history])


def test_both_versions_hand_back_the_same_last_good_weights_when_they_diverge():
    config = scratch.TrainConfig(learning_rate=15, epochs=300)  # diverges after the first checkpoint
    by_hand = scratch.run_training(config, report_every=5)
    framework = fizzbuzz_torch.train_torch(config, report_every=5)
    assert by_hand.status == framework.status == "diverged"
    assert len(by_hand.history) == len(framework.history) == 1
    for name in by_hand.params:
        assert np.allclose(by_hand.params[name], framework.params[name], atol=1e-9)


# --- learning ------------------------------------------------------------------------

def test_one_weight_descent_finds_one_third_with_a_good_learning_rate():
    path = scratch.one_weight_descent(0.2, 0.03, 40)
    assert path[0]["error"] == pytest.approx(0.16)
    assert scratch.one_weight_slope(0.2) == pytest.approx(-2.4)
    assert path[-1]["weight"] == pytest.approx(1 / 3, abs=1e-3)
    assert all(a["error"] >= b["error"] for a, b in zip(path, path[1:]))


def test_one_weight_descent_diverges_with_a_too_large_learning_rate():
    path = scratch.one_weight_descent(0.2, 0.12, 30)
    errors = [p["error"] for p in path]
    assert errors[-1] > 10 * errors[0]
    assert all(a < b for a, b in zip(errors, errors[1:]))


def test_a_training_step_lowers_the_error():
    data = fizzbuzz.make_dataset(1, 100)
    params = scratch.init_network(2, 3, seed=1)
    before = scratch.mean_error(params, data.inputs, data.targets, "cross_entropy")
    new_params, reported = scratch.train_step(params, data.inputs, data.targets, 0.05, "cross_entropy")
    assert reported == pytest.approx(before)
    assert scratch.mean_error(new_params, data.inputs, data.targets, "cross_entropy") < before


def test_the_talks_network_with_the_default_knobs_gets_all_of_1_to_100_right():
    config = scratch.TrainConfig()
    assert (config.hidden_size, config.encoding) == (3, "mod")
    result = scratch.run_training(config)
    assert result.status == "done"
    assert result.final.test_accuracy == 1.0
    assert scratch.per_class_accuracy(result.params, fizzbuzz.make_dataset(1, 100)) == {
        "fizz": 1.0, "buzz": 1.0, "fizzbuzz": 1.0, "none": 1.0}


def test_a_single_layer_without_biases_never_gets_fizzbuzz():
    """15 -> [0, 0] and 0 x any weight = 0: all four scores tie, fizzbuzz never wins."""
    result = scratch.run_training(scratch.TrainConfig(hidden_size=0, bias=False, epochs=300))
    per_class = scratch.per_class_accuracy(result.params, fizzbuzz.make_dataset(1, 100))
    assert per_class["fizzbuzz"] == 0.0
    assert per_class["fizz"] == per_class["buzz"] == per_class["none"] == 1.0


def test_a_single_layer_on_binary_digits_learns_nothing_but_none():
    config = replace_config(scratch.default_config("binary"), hidden_size=0, epochs=150)
    result = scratch.run_training(config)
    per_class = scratch.per_class_accuracy(result.params, fizzbuzz.make_dataset(1, 100, "binary"))
    assert per_class["fizzbuzz"] == 0.0
    assert result.final.test_accuracy < 0.6


@pytest.mark.slow
def test_the_binary_preset_beats_the_blogs_96_out_of_100_on_numbers_it_never_saw():
    """The page's claim: 10 binary digits, 100 hidden units, trained on 101..1023, seed 0."""
    config = scratch.default_config("binary")
    result = scratch.run_training(config, report_every=config.epochs)
    assert result.status == "done"
    right = int((scratch.predict(result.params, fizzbuzz.make_dataset(1, 100, "binary").inputs)
                 == fizzbuzz.make_dataset(1, 100).labels).sum())
    assert right > 96


def test_a_huge_learning_rate_is_reported_as_divergence_with_healthy_weights_kept():
    result = scratch.run_training(scratch.TrainConfig(learning_rate=100))
    assert result.status == "diverged"
    assert "learning rate is too large" in result.message
    assert scratch.finite(result.params)


def test_explain_number_shows_the_real_arithmetic():
    result = scratch.run_training(scratch.TrainConfig())
    shown = scratch.explain_number(result.params, 15, "mod", "cross_entropy")
    assert shown["inputs"].tolist() == [0, 0]
    assert np.allclose(shown["hidden"], scratch.relu(shown["hidden_sums"]))
    assert np.allclose(shown["probs"], scratch.softmax(shown["scores"]))
    assert shown["predicted"] == shown["expected"] == "fizzbuzz"
    assert shown["error"] == pytest.approx(-math.log(shown["probs"][2]))


@pytest.mark.parametrize("change, message", [
    (dict(hidden_size=-1), "Hidden size"), (dict(hidden_size=10_000), "Hidden size"),
    (dict(learning_rate=0.0), "Learning rate"), (dict(learning_rate=float("nan")), "Learning rate"),
    (dict(epochs=0), "Epochs"), (dict(seed=-5), "Seed"), (dict(loss="hinge"), "Loss"),
])
def test_out_of_range_knobs_get_a_readable_reason(change, message):
    problems = scratch.validate_config(replace_config(scratch.TrainConfig(), **change))
    assert problems and message in problems[0]


def test_knob_limits_read_like_a_person_wrote_them():
    problems = scratch.validate_config(replace_config(scratch.TrainConfig(), seed=-5, learning_rate=1e-8))
    assert "Learning rate must be between 0.000001 and 1,000,000 (got 0.00000001)." in problems
    assert "Seed must be between 0 and 2,147,483,647 (got -5)." in problems


def test_zero_hidden_units_is_allowed_and_means_a_single_layer():
    config = scratch.TrainConfig(hidden_size=0)
    assert scratch.validate_config(config) == []
    assert "no hidden layer" in config.layers_text
    assert scratch.layer_count(scratch.init_network(2, 0)) == 1


def replace_config(config, **changes):
    from dataclasses import replace

    return replace(config, **changes)
