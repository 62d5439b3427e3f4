#!/usr/bin/env python3
"""Reference values for the stats engine's `analyze` (analytics/stats/analyze.ts).

An independent implementation, with numpy/scipy, of the definitions in
/work/shared/design/STATS.md (gbstats, growthbook/growthbook packages/stats, as the peer for what
STATS.md leaves open), run over a deterministic set of cases. It writes
test/fixtures/stats/analyze.json — each case's request and the expected response numbers — which
test/unit/stats.analyze.test.ts checks the TypeScript engine against to 1e-5.

Re-run (from the repo root), then commit the regenerated fixture together with any engine change:

    pip install numpy scipy          # if missing
    python3 scripts/stats/reference_analyze.py

The output is deterministic (seeded data, fixed case list).

Independence from the TypeScript: every effect variance here is a quadratic form g_armᵀ Σ_arm g_arm
over each arm's covariance matrix of its per-unit variables (Y; Y, X; M, D; M, D, X, E) with the
gradient of the estimator as a vector, where the engine uses closed scalar formulas; t, normal and
truncated-normal quantities come from scipy (risk from scipy.stats.truncnorm, not the closed form);
the one-sided sequential p-value is found by root finding (scipy.optimize.brentq) on the interval
bound, where the engine uses a closed form.

Binomial metrics use the population moments (STATS.md, as gbstats' ProportionStatistic and
compute_covariance): the covariance matrix of an arm's per-unit variables (y, and with CUPED the
0/1 pre-period x) is divided by n, not n − 1, so var(y) = p(1 − p); means and ratios keep n − 1.

Where these definitions part from gbstats (checked once against gbstats at growthbook HEAD
8f1db44, building its statistics from the same aggregates; everything else agreed to ~3e-15):
- the one-sided sequential p-value is the exact root, not gbstats' bisection clamped to
  [1e-5, 0.4999] (they agree to its 1e-4 tolerance inside that range), and 1 when the estimate lies
  on the wrong side of 0;
- a prior stated on the absolute scale is rescaled to a relative effect (÷|μC|, ÷μC²); gbstats
  intends the same but its condition never fires, so it applies the absolute prior unscaled.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import scipy
from scipy import optimize, stats

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "stats", "analyze.json")

# ── per-arm aggregates from per-unit data ──────────────────────────────────────────────────────

# Request field names of the per-unit variables: y (metric / ratio numerator), d (denominator),
# x (covariate / pre numerator), e (pre denominator); products are named per pair.
SUMS = {"y": "sum", "d": "denominatorSum", "x": "covariateSum", "e": "covariateDenominatorSum"}
SQUARES = {"y": "sumSquares", "d": "denominatorSumSquares", "x": "covariateSumSquares", "e": "covariateDenominatorSumSquares"}
PRODUCTS = {
    ("y", "d"): "sumProductDenominator",
    ("y", "x"): "sumProductCovariate",
    ("y", "e"): "sumProductCovariateDenominator",
    ("d", "x"): "sumProductDenominatorCovariate",
    ("d", "e"): "sumProductDenominatorCovariateDenominator",
    ("x", "e"): "sumProductCovariates",
}


def aggregate(name: str, cols: dict[str, np.ndarray], binomial: bool = False) -> dict[str, Any]:
    n = len(cols["y"])
    arm: dict[str, Any] = {"name": name, "n": n}
    for v, col in cols.items():
        s = float(np.sum(col))
        arm[SUMS[v]] = int(round(s)) if binomial and v == "y" else s
        if not (binomial and v == "y"):  # binomial: Σy² is omitted (equals Σy)
            arm[SQUARES[v]] = float(np.sum(col * col))
    for (a, b), field in PRODUCTS.items():
        if a in cols and b in cols:
            arm[field] = float(np.sum(cols[a] * cols[b]))
    return arm


def arm_moments(arm: dict[str, Any], names: list[str], binomial: bool = False) -> tuple[int, np.ndarray, np.ndarray]:
    """n, mean vector and covariance matrix of the named per-unit variables: divided by n − 1, or by
    n for a binomial metric (population moments: var(y) = p(1 − p))."""
    n = arm["n"]
    sums = np.array([float(arm[SUMS[v]]) for v in names])

    def cross(a: str, b: str) -> float:
        if a == b:
            if a == "y" and SQUARES["y"] not in arm:
                return float(arm["sum"])  # binomial
            return float(arm[SQUARES[a]])
        key = (a, b) if (a, b) in PRODUCTS else (b, a)
        return float(arm[PRODUCTS[key]])

    raw = np.array([[cross(a, b) for b in names] for a in names])
    cov = (raw - np.outer(sums, sums) / n) / (n if binomial else n - 1)
    return n, sums / n, cov


# ── effect moments: estimate, variance, per-unit variances (for Welch) ─────────────────────────


def effect(req: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    mtype = req["metric"]["type"]
    relative = req["differenceType"] == "relative"
    cuped = req.get("cuped", False)
    flags: list[str] = []
    theta = None

    if mtype != "ratio":
        names = ["y", "x"] if cuped else ["y"]
        binomial = mtype == "binomial"
        nA, muA, SA = arm_moments(a, names, binomial)
        nB, muB, SB = arm_moments(b, names, binomial)
        if cuped:
            # pooled θ over both arms' units: joint moments from the summed aggregates
            joint = {k: a[k] + b[k] for k in a if k != "name"}
            nJ, _, SJ = arm_moments(joint, names, binomial)
            theta = 0.0 if SJ[1, 1] <= 0 or SJ[0, 0] <= 0 else SJ[0, 1] / SJ[1, 1]
            if theta == 0.0:
                flags.append("cuped_not_applied")
            unit = np.array([1.0, -theta])  # per-unit y − θx
        else:
            unit = np.array([1.0])
        meanA, meanB = float(unit @ muA), float(unit @ muB)
        ctrl_unadj, trt_unadj = float(muA[0]), float(muB[0])
        varA, varB = float(unit @ SA @ unit), float(unit @ SB @ unit)
        if relative and ctrl_unadj == 0:
            return {"flags": flags + ["zero_control_mean"], "theta": theta}
        if relative:
            s = abs(ctrl_unadj)
            est = (meanB - meanA) / s
            gB = unit / s
            # control gradient (gbstats' form): ∂/∂ȳA = −ȳB/ȳA², ∂/∂x̄A = θ/ȳA (up to a common sign)
            gA = np.array([-trt_unadj / ctrl_unadj**2] + ([theta / ctrl_unadj] if cuped else []))
        else:
            est = meanB - meanA
            gA, gB = -unit, unit
        var = float(gA @ SA @ gA) / nA + float(gB @ SB @ gB) / nB
    else:
        names = ["y", "d", "x", "e"] if cuped else ["y", "d"]
        nA, muA, SA = arm_moments(a, names)
        nB, muB, SB = arm_moments(b, names)
        if muA[1] == 0 or muB[1] == 0:
            return {"flags": ["zero_denominator"], "theta": None}

        def grad_ratio(mu: np.ndarray, i: int) -> np.ndarray:
            g = np.zeros(len(names))
            g[i] = 1 / mu[i + 1]
            g[i + 1] = -mu[i] / mu[i + 1] ** 2
            return g

        RA, RB = muA[0] / muA[1], muB[0] / muB[1]
        gpA, gpB = grad_ratio(muA, 0), grad_ratio(muB, 0)
        if cuped:
            if muA[3] == 0 or muB[3] == 0:
                theta = 0.0
            else:
                gqA, gqB = grad_ratio(muA, 2), grad_ratio(muB, 2)
                num = gqA @ SA @ gpA + gqB @ SB @ gpB
                den = gqA @ SA @ gqA + gqB @ SB @ gqB
                theta = 0.0 if den == 0 else float(num / den)
                if abs(theta) < 1e-8:
                    theta = 0.0
            if theta == 0.0:
                flags.append("cuped_not_applied")
                gqA = gqB = np.zeros(len(names))
                PA = PB = 0.0
            else:
                PA, PB = muA[2] / muA[3], muB[2] / muB[3]
        else:
            gqA = gqB = np.zeros(len(names))
            PA = PB = 0.0
            theta = None
        th = theta or 0.0
        uA, uB = gpA - th * gqA, gpB - th * gqB  # per-unit gradients of R − θP
        meanA, meanB = RA - th * PA, RB - th * PB
        varA, varB = float(uA @ SA @ uA), float(uB @ SB @ uB)
        if relative and RA == 0:
            return {"flags": flags + ["zero_control_mean"], "theta": theta}
        if relative:
            s = abs(RA)
            est = (meanB - meanA) / s
            k = (s + np.sign(RA) * (meanB - meanA)) / RA**2  # exact gradient, as gbstats' ratio CUPED
            gA = -k * gpA + (th / s) * gqA
            gB = uB / s
        else:
            est = meanB - meanA
            gA, gB = -uA, uB
        var = float(gA @ SA @ gA) / nA + float(gB @ SB @ gB) / nB

    varA, varB = max(varA, 0.0), max(varB, 0.0)
    if not var > 0 or (varA == 0 and varB == 0):
        flags.append("zero_variance")
    elif varA == 0 or varB == 0:
        flags.append("one_arm_zero_variance")
    return {"est": est, "var": var, "varA": varA, "varB": varB, "nA": nA, "nB": nB, "control_mean": ctrl_unadj if mtype != "ratio" else RA, "flags": flags, "theta": theta}


# ── tests ──────────────────────────────────────────────────────────────────────────────────────


def frequentist(m: dict[str, Any], alpha: float, alternative: str) -> dict[str, Any]:
    se = math.sqrt(m["var"])
    a, b = m["varA"] / m["nA"], m["varB"] / m["nB"]
    dof = (a + b) ** 2 / (b**2 / (m["nB"] - 1) + a**2 / (m["nA"] - 1))
    t = m["est"] / se
    if alternative == "two-sided":
        w = stats.t.ppf(1 - alpha / 2, dof) * se
        return {"ci": [m["est"] - w, m["est"] + w], "pValue": float(2 * stats.t.sf(abs(t), dof)), "dof": dof}
    w = stats.t.ppf(1 - alpha, dof) * se
    if alternative == "greater":
        return {"ci": [m["est"] - w, None], "pValue": float(stats.t.sf(t, dof)), "dof": dof}
    return {"ci": [None, m["est"] + w], "pValue": float(stats.t.cdf(t, dof)), "dof": dof}


def sequential(m: dict[str, Any], alpha: float, alternative: str, tuning: float) -> dict[str, Any]:
    N = m["nA"] + m["nB"]
    se = math.sqrt(m["var"])
    s2 = se**2 * N  # per-unit scale of the sequence

    def rho_for(a: float) -> float:
        return math.sqrt((-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / tuning)

    if alternative == "two-sided":
        rho = rho_for(alpha)
        hw = math.sqrt(s2) * math.sqrt(2 * (N * rho**2 + 1) / (N**2 * rho**2) * math.log(math.sqrt(N * rho**2 + 1) / alpha))
        p = min(1.0, math.sqrt(N * rho**2 + 1) * math.exp(-(rho**2) * (m["est"] ** 2 * N / se**2) / (2 * (N * rho**2 + 1))))
        return {"ci": [m["est"] - hw, m["est"] + hw], "pValue": p}
    rho = rho_for(2 * alpha)  # one-sided: ρ from 2α

    def hw1(a: float) -> float:
        return math.sqrt(s2 * 2 * (N * rho**2 + 1) / (N * rho) ** 2 * math.log(1 + math.sqrt(N * rho**2 + 1) / (2 * a)))

    hw = hw1(alpha)
    favourable = m["est"] > 0 if alternative == "greater" else m["est"] < 0
    if not favourable:
        p = 1.0
    else:
        # smallest α' whose bound reaches 0: hw1(α') = |Δ|, hw1 decreasing in α'
        f = lambda log_a: hw1(math.exp(log_a)) - abs(m["est"])  # noqa: E731
        p = 1.0 if f(0.0) > 0 else math.exp(optimize.brentq(f, -700.0, 0.0, xtol=1e-14, rtol=1e-14))
    ci = [m["est"] - hw, None] if alternative == "greater" else [None, m["est"] + hw]
    return {"ci": ci, "pValue": p}


def bayesian(m: dict[str, Any], alpha: float, prior: dict[str, Any] | None, relative: bool, inverse: bool) -> dict[str, Any] | None:
    if prior is not None:
        m0, v0 = prior.get("mean", 0.0), prior.get("variance", 0.09)
        scale = prior.get("scale", "relative")
        target = "relative" if relative else "absolute"
        if scale != target:
            c = abs(m["control_mean"])
            if c == 0:
                return None
            m0, v0 = (m0 * c, v0 * c * c) if target == "absolute" else (m0 / c, v0 / (c * c))
        prec = 1 / m["var"] + 1 / v0
        mu, sd = (m["est"] / m["var"] + m0 / v0) / prec, math.sqrt(1 / prec)
    else:
        mu, sd = m["est"], math.sqrt(m["var"])
    lo, hi = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mu, sd)
    p_pos = float(stats.norm.sf(0, mu, sd))
    p_neg = float(stats.norm.cdf(0, mu, sd))

    def tmean(a: float, b: float) -> float:
        return float(stats.truncnorm.mean((a - mu) / sd, (b - mu) / sd, loc=mu, scale=sd))

    risk_ctrl = p_pos * tmean(0, np.inf) if p_pos > 0 else 0.0
    risk_trt = -p_neg * tmean(-np.inf, 0) if p_neg > 0 else 0.0
    risk = [risk_trt, risk_ctrl] if inverse else [risk_ctrl, risk_trt]
    return {"effect": mu, "stdErr": sd, "ci": [float(lo), float(hi)], "chanceToWin": p_neg if inverse else p_pos, "risk": risk}


def analyze(req: dict[str, Any]) -> dict[str, Any]:
    mtype = req["metric"]["type"]
    arms_out = []
    for arm in req["arms"]:
        if mtype == "ratio":
            n, mu, S = arm_moments(arm, ["y", "d"])
            if mu[1] == 0:
                arms_out.append({"name": arm["name"], "n": n, "mean": None, "stdDev": None})
                continue
            g = np.array([1 / mu[1], -mu[0] / mu[1] ** 2])
            arms_out.append({"name": arm["name"], "n": n, "mean": mu[0] / mu[1], "stdDev": math.sqrt(max(0.0, float(g @ S @ g)))})
        else:
            n, mu, S = arm_moments(arm, ["y"], mtype == "binomial")
            arms_out.append({"name": arm["name"], "n": n, "mean": float(mu[0]), "stdDev": math.sqrt(max(0.0, float(S[0, 0])))})

    alpha = req.get("alpha", 0.05)
    alternative = req.get("alternative", "two-sided")
    comps = []
    control = req["arms"][0]
    fatal = {"zero_variance", "zero_control_mean", "zero_denominator"}
    for arm in req["arms"][1:]:
        m = effect(req, control, arm)
        c: dict[str, Any] = {"arm": arm["name"]}
        if m.get("theta") is not None:
            c["theta"] = m["theta"]
        flags = m["flags"]
        res = None
        if not fatal & set(flags):
            if req["engine"] == "frequentist":
                seq = req.get("sequential")
                res = sequential(m, alpha, alternative, seq.get("tuning", 5000)) if seq is not None else frequentist(m, alpha, alternative)
                res = {"effect": m["est"], "stdErr": math.sqrt(m["var"]), **res}
            else:
                res = bayesian(m, alpha, req.get("prior"), req["differenceType"] == "relative", req["metric"].get("inverse", False))
                if res is None:
                    flags = flags + ["zero_control_mean"]
        if res is None:
            res = {"effect": None, "ci": [None, None], "stdErr": None}
            if req["engine"] == "frequentist":
                res["pValue"] = None
            else:
                res["chanceToWin"] = None
                res["risk"] = None
        c.update({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in res.items()})
        c["flags"] = flags
        comps.append(c)
    return {"arms": arms_out, "comparisons": comps}


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


def main() -> None:
    data = scenarios()
    settings = dict(FREQ + BAYES)
    cases = []
    for scen, suffixes in PLAN.items():
        for suffix in suffixes:
            s = json.loads(json.dumps(settings[suffix]))
            metric = {"type": data[scen]["type"], **s.pop("metric", {})}
            req = {"metric": metric, **s, "cuped": scen in CUPED_SCENARIOS, "arms": data[scen]["arms"]}
            cases.append({"name": f"{scen}/{suffix}", "request": req, "expected": analyze(req)})
    doc = {
        "generatedBy": "scripts/stats/reference_analyze.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"{len(cases)} cases → {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
