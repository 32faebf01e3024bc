"""Lesson 6: judge a model's weights without any data (the talk's WeightWatcher).

Every layer of a network is a weight matrix W (N x M, N >= M). Square it,
W^T W / N, and take the M eigenvalues: the layer's *eigenvalue spectrum* (the
squared singular values of W, divided by N). For a layer full of random noise
the spectrum is a compact bump (the Marchenko-Pastur law). Training pulls
structure out of the data into a few large directions, and the largest
eigenvalues then spread out into a *heavy tail*: p(lambda) ~ lambda^-alpha.
Martin & Mahoney's observation (and the WeightWatcher tool's whole idea):

    alpha small (about 2 to 6)  -> the layer learned correlations: "well trained"
    alpha large (> 6)           -> the tail is thin, the layer looks close to random
    alpha < 2                   -> a very heavy tail: possibly over-trained

The talk quoted 2-3 as the target and showed BERT's layers reaching up to 10.

How alpha is fitted here (`fit_power_law_tail`) is the standard recipe of
Clauset, Shalizi & Newman (2009), the same one WeightWatcher 0.7.7 uses in its
default fast fit: for every candidate start of the tail x_min, the maximum
likelihood exponent is

    alpha = 1 + n / sum(ln(x_i / x_min))     (over the n eigenvalues >= x_min)

and the x_min kept is the one whose fitted power law is closest to the data
(smallest Kolmogorov-Smirnov distance between the two cumulative curves).
Worked number: a tail of the three eigenvalues 1, 2 and 4 with x_min = 1 gives
alpha = 1 + 3 / (0 + ln 2 + ln 4) = 1 + 3 / 2.079 = 2.44.

Limits, said honestly on the page: alpha is a heuristic, not an accuracy. It
is noisy for small matrices (a 384 x 384 layer has only 384 eigenvalues, the
tail maybe 50), a short fine-tune barely moves it, and it can't tell a good
model for *your* task from a good model for another one.

torch is imported inside `model_matrices` only; the math is NumPy.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

# The band WeightWatcher's authors call well trained, and the talk's own quote.
WELL_TRAINED_BAND = (2.0, 6.0)
TALK_BAND = (2.0, 3.0)

# Eigenvalues this small are numerically zero (WeightWatcher's threshold too).
ZERO_EIGENVALUE = 1e-5
# Layers with fewer eigenvalues than this have no tail worth fitting.
MIN_EIGENVALUES = 50
# The smallest tail a fit may use: with 3 points any line fits.
MIN_TAIL = 10


@dataclass
class PowerLawFit:
    alpha: float        # the exponent: p(lambda) ~ lambda^-alpha for lambda >= xmin
    xmin: float         # where the tail starts
    n_tail: int         # how many eigenvalues are in the tail
    ks_distance: float  # max gap between the data's and the fit's cumulative curves (0 = perfect)
    sigma: float        # standard error of alpha: (alpha - 1) / sqrt(n_tail)


@dataclass
class LayerAlpha:
    name: str           # the module's name in the model, e.g. encoder.layer.0.attention.self.query
    label: str          # short, for a chart axis: "L0 query"
    shape: tuple        # (N, M) with N >= M
    alpha: float
    xmin: float
    n_tail: int
    ks_distance: float
    sigma: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d


def eigenvalue_spectrum(weights) -> np.ndarray:
    """Eigenvalues of W^T W / N for an N x M matrix (N >= M), ascending.

    Worked number: W = [[3, 0], [0, 1], [0, 0], [0, 0]] (N = 4) has singular
    values 3 and 1, so its spectrum is [1/4, 9/4] = [0.25, 2.25].
    """
    matrix = np.asarray(weights, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"a weight matrix has 2 dimensions, this one has {matrix.ndim}")
    n, m = max(matrix.shape), min(matrix.shape)
    with _one_blas_thread():
        if n >= 4 * m:
            # A tall table (30,522 x 384 word embeddings): the eigenvalues of the
            # small M x M Gram matrix are the same numbers, 5x faster than an SVD.
            # Squaring loses only the tiniest eigenvalues, never the tail.
            gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
            eigenvalues = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
        else:
            eigenvalues = np.linalg.svd(matrix, compute_uv=False) ** 2
    return np.sort(eigenvalues / n)


def _one_blas_thread():
    """Run NumPy's linear algebra on one thread: on a busy 2-core machine
    OpenBLAS's two threads wait on each other and a 384 x 384 SVD takes 1.5 s
    instead of 0.03 s (measured)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()


def fit_power_law_tail(eigenvalues, min_tail: int = MIN_TAIL) -> PowerLawFit:
    """Fit p(x) ~ x^-alpha to the tail of `eigenvalues` (Clauset-Shalizi-Newman).

    Tries every eigenvalue as the tail's start x_min (keeping at least
    `min_tail` points in the tail), fits alpha by maximum likelihood for each,
    and keeps the x_min with the smallest Kolmogorov-Smirnov distance.

    >>> round(fit_power_law_tail([1.0, 2.0, 4.0], min_tail=3).alpha, 2)
    2.44
    """
    x = np.sort(np.asarray(eigenvalues, dtype=np.float64))
    x = x[x > 0]
    if len(x) < min_tail:
        raise ValueError(f"need at least {min_tail} positive eigenvalues to fit a tail, got {len(x)}")
    log_x = np.log(x)
    # sum of ln(x_j) for j >= i, for every i: one reversed cumulative sum.
    tail_log_sums = np.cumsum(log_x[::-1])[::-1]
    best: PowerLawFit | None = None
    for i in range(len(x) - min_tail + 1):
        n = len(x) - i
        spread = tail_log_sums[i] - n * log_x[i]  # sum of ln(x_j / x_min)
        if spread <= 0:  # all equal: no tail to speak of
            continue
        alpha = 1.0 + n / spread
        tail = x[i:]
        fitted_cdf = 1.0 - (tail / x[i]) ** (1.0 - alpha)
        data_cdf = np.arange(n) / n
        ks = float(np.max(np.abs(fitted_cdf - data_cdf)))
        if best is None or ks < best.ks_distance:
            best = PowerLawFit(alpha=float(alpha), xmin=float(x[i]), n_tail=n,
                               ks_distance=ks, sigma=float((alpha - 1.0) / np.sqrt(n)))
    if best is None:
        raise ValueError("the eigenvalues are all equal: there is no tail to fit")
    return best


def power_law_density(x, fit: PowerLawFit) -> np.ndarray:
    """The fitted density at x (for drawing the fit over a histogram):
    p(x) = (alpha - 1) / x_min * (x / x_min)^-alpha, for x >= x_min."""
    x = np.asarray(x, dtype=np.float64)
    return (fit.alpha - 1.0) / fit.xmin * (x / fit.xmin) ** (-fit.alpha)


def log_histogram(eigenvalues, bins: int = 40) -> tuple[list[float], list[float]]:
    """Density of the eigenvalues on log-spaced bins (centres, densities) for a log-log plot."""
    x = np.asarray(eigenvalues, dtype=np.float64)
    x = x[x > 0]
    edges = np.logspace(np.log10(x.min()), np.log10(x.max()) * (1 + 1e-12), bins + 1)
    counts, edges = np.histogram(x, bins=edges)
    density = counts / (len(x) * np.diff(edges))
    centres = np.sqrt(edges[:-1] * edges[1:])
    keep = counts > 0
    return centres[keep].tolist(), density[keep].tolist()


def short_label(name: str) -> str:
    """A chart-sized name for a BERT module: 'encoder.layer.3.intermediate.dense' -> 'L3 ffn-in'."""
    parts = {
        "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
        "attention.output.dense": "attn-out", "intermediate.dense": "ffn-in", "output.dense": "ffn-out",
    }
    match = re.search(r"layer\.(\d+)\.(.+)$", name)
    if match:
        return f"L{match.group(1)} {parts.get(match.group(2), match.group(2))}"
    if "word_embeddings" in name:
        return "word emb."
    if "position_embeddings" in name:
        return "position emb."
    if "pooler" in name:
        return "pooler"
    return name.rsplit(".", 1)[-1]


def model_matrices(model, min_eigenvalues: int = MIN_EIGENVALUES) -> list[tuple[str, np.ndarray]]:
    """Every 2-D weight matrix of a torch model worth a spectrum: linear layers
    and embedding tables with at least `min_eigenvalues` eigenvalues (so not the
    2-row token-type table, not an 8-output classifier head)."""
    import torch

    found = []
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            weight = module.weight.detach()
            if weight.ndim == 2 and min(weight.shape) >= min_eigenvalues:
                found.append((name, weight.float().cpu().numpy()))
    return found


def layer_alpha(name: str, weights) -> LayerAlpha:
    spectrum = eigenvalue_spectrum(weights)
    # Numerically zero eigenvalues (scaled by N like the rest) carry no information.
    spectrum = spectrum[spectrum * max(np.shape(weights)) > ZERO_EIGENVALUE]
    fit = fit_power_law_tail(spectrum)
    shape = tuple(sorted(np.shape(weights), reverse=True))
    return LayerAlpha(name=name, label=short_label(name), shape=shape, alpha=fit.alpha, xmin=fit.xmin,
                      n_tail=fit.n_tail, ks_distance=fit.ks_distance, sigma=fit.sigma)


def model_alphas(model, should_stop=lambda: False, min_eigenvalues: int = MIN_EIGENVALUES) -> list[LayerAlpha]:
    """alpha for every layer of the model, in the model's own order.

    Stops early (returning the layers done so far) when should_stop() says so.
    """
    results = []
    for name, weights in model_matrices(model, min_eigenvalues):
        if should_stop():
            break
        results.append(layer_alpha(name, weights))
    return results


def spectrum_with_fit(weights, bins: int = 40) -> dict:
    """One layer's spectrum ready for a log-log chart: histogram, fit line, numbers."""
    spectrum = eigenvalue_spectrum(weights)
    spectrum = spectrum[spectrum * max(np.shape(weights)) > ZERO_EIGENVALUE]
    fit = fit_power_law_tail(spectrum)
    centres, density = log_histogram(spectrum, bins)
    line_x = np.logspace(np.log10(fit.xmin), np.log10(spectrum.max()), 30)
    # The fit describes only the tail (a fraction n_tail/M of all eigenvalues):
    # scale it so it sits on the histogram of *all* of them.
    line_y = power_law_density(line_x, fit) * fit.n_tail / len(spectrum)
    return {
        "centres": centres, "density": density,
        "fit_x": line_x.tolist(), "fit_y": line_y.tolist(),
        "alpha": fit.alpha, "xmin": fit.xmin, "n_tail": fit.n_tail, "n": int(len(spectrum)),
        "ks_distance": fit.ks_distance,
    }


def in_band(alpha: float, band: tuple[float, float] = WELL_TRAINED_BAND) -> bool:
    return band[0] <= alpha <= band[1]


# ------------------------------------------------------------------ synthetic data for tests


def sample_power_law(alpha: float, n: int, xmin: float = 1.0, seed: int = 0) -> np.ndarray:
    """n numbers drawn from p(x) ~ x^-alpha, x >= xmin (inverse-CDF sampling):
    x = xmin * (1 - u)^(-1 / (alpha - 1)) for u uniform in [0, 1)."""
    u = np.random.default_rng(seed).random(n)
    return xmin * (1.0 - u) ** (-1.0 / (alpha - 1.0))


def matrix_with_spectrum(eigenvalues, n_rows: int, seed: int = 0) -> np.ndarray:
    """An n_rows x M matrix whose W^T W / n_rows has exactly these M eigenvalues:
    W = U diag(sqrt(n_rows * lambda)) V^T with random orthonormal U and V."""
    rng = np.random.default_rng(seed)
    lam = np.asarray(eigenvalues, dtype=np.float64)
    m = len(lam)
    u, _ = np.linalg.qr(rng.standard_normal((n_rows, m)))
    v, _ = np.linalg.qr(rng.standard_normal((m, m)))
    return u @ np.diag(np.sqrt(n_rows * lam)) @ v.T
