"""The same FizzBuzz network, the framework way (the talk's Nx-by-hand vs Axon contrast).

core/scratch.py writes forward, backward and the update by hand. Here PyTorch does
that work: nn.Sequential declares the layers, the loss function measures the error,
autograd finds the slopes (loss.backward()) and the optimizer takes the step.
Started from the very same weights, both versions follow the same path step for
step, because they compute the same numbers.

torch is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import numpy as np

from core import fizzbuzz, scratch


def warm_up() -> None:
    """Import torch and train for one epoch, so timing a run afterwards measures training, not
    loading the library and its first-call set-up (seconds on a cold, busy machine)."""
    train_torch(scratch.TrainConfig(epochs=1))


def build_model(input_size: int, hidden_size: int, bias: bool = True):
    """The talk's Axon model in PyTorch: dense + ReLU, then dense. No softmax layer here:
    nn.CrossEntropyLoss applies it (in a numerically safer way) to the raw scores."""
    from torch import nn

    if hidden_size == 0:
        return nn.Sequential(nn.Linear(input_size, 4, bias=bias)).double()
    return nn.Sequential(
        nn.Linear(input_size, hidden_size, bias=bias),
        nn.ReLU(),
        nn.Linear(hidden_size, 4, bias=bias),
    ).double()


def copy_weights_in(model, params: dict) -> None:
    """Start from scratch.py's weights. nn.Linear stores each layer as (out, in): transpose."""
    import torch

    linears = [layer for layer in model if isinstance(layer, torch.nn.Linear)]
    with torch.no_grad():
        for number, linear in enumerate(linears, start=1):
            linear.weight.copy_(torch.from_numpy(params[f"W{number}"].T))
            if linear.bias is not None:
                linear.bias.copy_(torch.from_numpy(params[f"b{number}"]))


def weights_out(model) -> dict:
    """The model's weights in scratch.py's layout, so the same scoring code can read them."""
    import torch

    linears = [layer for layer in model if isinstance(layer, torch.nn.Linear)]
    params = {}
    for number, linear in enumerate(linears, start=1):
        params[f"W{number}"] = linear.weight.detach().numpy().T.copy()
        if linear.bias is not None:
            params[f"b{number}"] = linear.bias.detach().numpy().copy()
    return params


def loss_function(loss: str):
    """Cross-entropy is built in. Squared error is spelled out to match scratch.py: softmax,
    then the squared difference summed over the 4 classes, averaged over the numbers."""
    import torch
    from torch import nn

    if loss == "cross_entropy":
        return nn.CrossEntropyLoss()

    def squared_error(scores, labels):
        targets = nn.functional.one_hot(labels, num_classes=4).double()
        return ((torch.softmax(scores, dim=1) - targets) ** 2).sum(dim=1).mean()

    return squared_error


def train_torch(config: scratch.TrainConfig, report_every: int = 10) -> scratch.RunResult:
    """data -> model -> loss -> optimizer -> for each epoch: forward, loss, backward, step."""
    import torch

    threads = torch.get_num_threads()
    # A network this small is slowest with several threads (they spin-wait on a busy CPU):
    # one thread trains it ~40x faster here. Restored below.
    torch.set_num_threads(1)
    try:
        return _train(config, report_every)
    finally:
        torch.set_num_threads(threads)


def _train(config: scratch.TrainConfig, report_every: int) -> scratch.RunResult:
    import torch

    torch.manual_seed(config.seed)
    train_set, test_set = fizzbuzz.train_test_split(config.encoding)
    model = build_model(train_set.inputs.shape[1], config.hidden_size, config.bias)
    # Same starting weights as the NumPy network, so the two runs can be compared step by step.
    start = scratch.init_network(train_set.inputs.shape[1], config.hidden_size, config.seed, bias=config.bias)
    copy_weights_in(model, start)
    limit = scratch.divergence_limit(scratch.mean_error(start, train_set.inputs, train_set.targets, config.loss))
    loss_fn = loss_function(config.loss)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate)
    inputs, labels = torch.from_numpy(train_set.inputs), torch.from_numpy(train_set.labels)

    history = []
    good = start  # like scratch.train, a diverged run hands back the last weights that made sense
    batch = config.batch_size or len(train_set)
    shuffle = np.random.default_rng(config.seed + 1)  # the same batches as scratch.train
    for epoch in range(1, config.epochs + 1):
        order = shuffle.permutation(len(train_set)) if batch < len(train_set) else np.arange(len(train_set))
        for first in range(0, len(train_set), batch):
            rows = torch.from_numpy(order[first:first + batch])
            optimizer.zero_grad()
            loss = loss_fn(model(inputs[rows]), labels[rows])
            loss.backward()  # autograd: every slope, no hand-written backward
            optimizer.step()  # every weight -= learning_rate * slope
        if epoch % report_every == 0 or epoch == config.epochs or epoch == 1:
            checkpoint = _checkpoint(epoch, weights_out(model), train_set, test_set, config.loss)
            if not (checkpoint.train_error <= limit):  # also catches NaN
                return scratch.RunResult(config, good, history, "diverged",
                                         f"PyTorch training diverged at epoch {epoch}: the error went to "
                                         f"{checkpoint.train_error:.3g}. The learning rate is too large.")
            history.append(checkpoint)
            good = weights_out(model)
    return scratch.RunResult(config, weights_out(model), history, "done")


def _checkpoint(epoch, params, train_set, test_set, loss) -> scratch.Checkpoint:
    return scratch.Checkpoint(
        epoch=epoch,
        train_error=scratch.mean_error(params, train_set.inputs, train_set.targets, loss),
        train_accuracy=scratch.accuracy(params, train_set),
        test_error=scratch.mean_error(params, test_set.inputs, test_set.targets, loss),
        test_accuracy=scratch.accuracy(params, test_set),
    )
