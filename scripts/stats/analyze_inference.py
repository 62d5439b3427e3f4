"""The frequentist, sequential and Bayesian tests over an effect's moments, and `analyze` (reference_analyze.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats

from analyze_moments import arm_moments, effect

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
