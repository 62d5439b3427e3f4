"""The deterministic case list: seeded per-unit scenarios and the settings each is analysed with (reference_analyze.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyze_moments import aggregate

# ── cases ──────────────────────────────────────────────────────────────────────────────────────


def scenarios() -> dict[str, dict[str, Any]]:
    """Arm data per scenario, drawn once from a seeded generator."""
    rng = np.random.default_rng(20240501)
    out: dict[str, dict[str, Any]] = {}

    def binom(n: int, p: float) -> dict[str, np.ndarray]:
        return {"y": (rng.random(n) < p).astype(float)}

    out["binomial"] = {"type": "binomial", "arms": [aggregate("control", binom(1000, 0.10), True), aggregate("treatment", binom(1020, 0.125), True)]}
    out["binomial_3arm"] = {
        "type": "binomial",
        "arms": [aggregate("control", binom(5000, 0.05), True), aggregate("b", binom(4900, 0.055), True), aggregate("c", binom(5100, 0.047), True)],
    }
    out["binomial_down"] = {"type": "binomial", "arms": [aggregate("control", binom(3000, 0.12), True), aggregate("treatment", binom(3000, 0.095), True)]}
    out["binomial_small"] = {"type": "binomial", "arms": [aggregate("control", binom(30, 0.3), True), aggregate("treatment", binom(25, 0.5), True)]}

    def revenue(n: int, mu: float, sigma: float, p_buy: float) -> dict[str, np.ndarray]:
        return {"y": np.where(rng.random(n) < p_buy, rng.lognormal(mu, sigma, n), 0.0).round(2)}

    out["mean"] = {"type": "mean", "arms": [aggregate("control", revenue(800, 3.0, 0.8, 0.3)), aggregate("treatment", revenue(760, 3.1, 0.8, 0.32))]}
    out["mean_4arm"] = {
        "type": "mean",
        "arms": [aggregate(f"arm{i}", {"y": rng.normal(10 + 0.3 * i, 3 + 0.5 * i, 400 + 37 * i)}) for i in range(4)],
    }
    out["mean_small"] = {"type": "mean", "arms": [aggregate("control", {"y": rng.normal(5, 1, 6)}), aggregate("treatment", {"y": rng.normal(6, 3, 9)})]}
    out["mean_negative"] = {"type": "mean", "arms": [aggregate("control", {"y": rng.normal(-5, 2, 300)}), aggregate("treatment", {"y": rng.normal(-4.6, 2.5, 310)})]}

    def ratio(n: int, rate: float, value: float, cuped: bool, pre_rate: float = 0.2) -> dict[str, np.ndarray]:
        d = rng.poisson(3.0, n).astype(float) + 1
        y = rng.binomial(d.astype(int), rate).astype(float) * value * rng.lognormal(0, 0.3, n)
        cols = {"y": y, "d": d}
        if cuped:
            # the pre-period: correlated with the unit's post-period behaviour, without the treatment
            e = np.maximum(1.0, d + rng.poisson(1.0, n) - 1)
            x = 0.6 * y * (pre_rate / rate) * e / d + rng.binomial(e.astype(int), pre_rate).astype(float) * value * 0.4
            cols.update({"x": x, "e": e})
        return cols

    out["ratio"] = {"type": "ratio", "arms": [aggregate("control", ratio(900, 0.2, 10, False)), aggregate("treatment", ratio(880, 0.23, 10, False))]}
    out["ratio_3arm"] = {"type": "ratio", "arms": [aggregate(f"r{i}", ratio(500 + 20 * i, 0.1 + 0.01 * i, 4, False)) for i in range(3)]}
    out["ratio_cuped"] = {"type": "ratio", "arms": [aggregate("control", ratio(900, 0.2, 10, True)), aggregate("treatment", ratio(880, 0.23, 10, True))]}
    out["ratio_cuped_3arm"] = {"type": "ratio", "arms": [aggregate(f"r{i}", ratio(600 + 10 * i, 0.15 + 0.02 * i, 5, True, 0.15)) for i in range(3)]}

    def cuped_mean(n: int, lift: float) -> dict[str, np.ndarray]:
        x = rng.normal(20, 6, n)
        return {"y": 5 + 0.8 * x + rng.normal(0, 4, n) + lift, "x": x}

    out["mean_cuped"] = {"type": "mean", "arms": [aggregate("control", cuped_mean(700, 0)), aggregate("treatment", cuped_mean(720, 0.6))]}
    out["mean_cuped_3arm"] = {"type": "mean", "arms": [aggregate(f"v{i}", cuped_mean(500, 0.4 * i)) for i in range(3)]}

    def cuped_binom(n: int, p: float) -> dict[str, np.ndarray]:
        x = (rng.random(n) < 0.3).astype(float)
        return {"y": (rng.random(n) < p + 0.25 * x).astype(float), "x": x}

    out["binomial_cuped"] = {"type": "binomial", "arms": [aggregate("control", cuped_binom(1500, 0.1), True), aggregate("treatment", cuped_binom(1480, 0.12), True)]}

    # degenerate: constant arms, zero control mean, zero denominator, covariate without variance
    out["degenerate_constant"] = {"type": "binomial", "arms": [{"name": "control", "n": 200, "sum": 0}, {"name": "treatment", "n": 180, "sum": 0}]}
    out["degenerate_zero_control"] = {"type": "binomial", "arms": [{"name": "control", "n": 200, "sum": 0}, {"name": "treatment", "n": 180, "sum": 4}]}
    out["degenerate_zero_denominator"] = {
        "type": "ratio",
        "arms": [
            {"name": "control", "n": 10, "sum": 0.0, "sumSquares": 0.0, "denominatorSum": 0.0, "denominatorSumSquares": 0.0, "sumProductDenominator": 0.0},
            {"name": "treatment", "n": 12, "sum": 5.0, "sumSquares": 9.0, "denominatorSum": 6.0, "denominatorSumSquares": 8.0, "sumProductDenominator": 7.0},
        ],
    }
    flat = cuped_mean(300, 0.0)
    flat["x"] = np.full(300, 7.0)
    flat2 = cuped_mean(310, 0.5)
    flat2["x"] = np.full(310, 7.0)
    out["degenerate_flat_covariate"] = {"type": "mean", "arms": [aggregate("control", flat), aggregate("treatment", flat2)]}
    return out


# settings variants: (suffix, request fields)
FREQ = [
    ("freq_abs_two", {"engine": "frequentist", "differenceType": "absolute"}),
    ("freq_rel_two", {"engine": "frequentist", "differenceType": "relative"}),
    ("freq_rel_greater", {"engine": "frequentist", "differenceType": "relative", "alternative": "greater"}),
    ("freq_abs_less", {"engine": "frequentist", "differenceType": "absolute", "alternative": "less", "alpha": 0.1}),
    ("freq_rel_seq", {"engine": "frequentist", "differenceType": "relative", "sequential": {"tuning": 5000}}),
    ("freq_abs_seq_greater", {"engine": "frequentist", "differenceType": "absolute", "alternative": "greater", "sequential": {"tuning": 2000}}),
    ("freq_rel_seq_less", {"engine": "frequentist", "differenceType": "relative", "alternative": "less", "sequential": {}}),
]
BAYES = [
    ("bayes_rel_flat", {"engine": "bayesian", "differenceType": "relative"}),
    ("bayes_abs_flat_inverse", {"engine": "bayesian", "differenceType": "absolute", "metric": {"inverse": True}}),
    ("bayes_rel_prior", {"engine": "bayesian", "differenceType": "relative", "prior": {"mean": 0, "variance": 0.09}}),
    ("bayes_abs_prior_rel", {"engine": "bayesian", "differenceType": "absolute", "prior": {"mean": 0.02, "variance": 0.01}}),
    ("bayes_rel_prior_abs_inverse", {"engine": "bayesian", "differenceType": "relative", "alpha": 0.1, "metric": {"inverse": True}, "prior": {"mean": 0.5, "variance": 4, "scale": "absolute"}}),
]

PLAN: dict[str, list[str]] = {
    "binomial": [s for s, _ in FREQ + BAYES],
    "binomial_3arm": ["freq_rel_two", "freq_rel_seq", "bayes_rel_prior"],
    "binomial_down": ["freq_rel_seq_less", "freq_abs_less", "freq_rel_greater", "freq_abs_seq_greater", "bayes_abs_flat_inverse"],
    "binomial_small": ["freq_abs_two", "freq_rel_greater", "bayes_rel_flat"],
    "mean": [s for s, _ in FREQ + BAYES],
    "mean_4arm": ["freq_abs_two", "freq_rel_seq_less", "bayes_abs_flat_inverse"],
    "mean_small": ["freq_abs_two", "freq_rel_two", "freq_abs_seq_greater"],
    "mean_negative": ["freq_rel_two", "freq_rel_greater", "bayes_rel_prior", "bayes_abs_prior_rel"],
    "ratio": [s for s, _ in FREQ + BAYES],
    "ratio_3arm": ["freq_rel_two", "bayes_rel_flat"],
    "ratio_cuped": ["freq_abs_two", "freq_rel_two", "freq_rel_seq", "bayes_rel_prior", "bayes_abs_flat_inverse"],
    "ratio_cuped_3arm": ["freq_rel_greater", "bayes_rel_flat"],
    "mean_cuped": ["freq_abs_two", "freq_rel_two", "freq_abs_less", "freq_rel_seq", "bayes_rel_flat", "bayes_abs_prior_rel"],
    "mean_cuped_3arm": ["freq_rel_two", "bayes_rel_prior"],
    "binomial_cuped": ["freq_abs_two", "freq_rel_two", "freq_rel_seq_less", "bayes_rel_flat"],
    "degenerate_constant": ["freq_abs_two", "bayes_rel_flat"],
    "degenerate_zero_control": ["freq_rel_two", "freq_abs_two", "bayes_abs_prior_rel"],
    "degenerate_zero_denominator": ["freq_abs_two"],
    "degenerate_flat_covariate": ["freq_rel_two"],
}
CUPED_SCENARIOS = {"ratio_cuped", "ratio_cuped_3arm", "mean_cuped", "mean_cuped_3arm", "binomial_cuped", "degenerate_flat_covariate"}
