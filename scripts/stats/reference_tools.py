#!/usr/bin/env python3
"""Reference values for the stats tools (analytics/stats/{srm,adjust,power,capping}.ts).

An independent implementation with numpy/scipy of the definitions in shared/design/STATS.md, over a
deterministic set of cases (fixed seeds), written to test/fixtures/stats/tools.json;
test/unit/stats.tools.test.ts checks every case to 1e-5.

Re-run (from the repository root) after changing a definition or adding cases:

    pip install numpy scipy          # once
    python3 scripts/stats/reference_tools.py

Independent on purpose: where the TS code has a closed form or a particular algorithm, this file
takes a different route to the same definition —
  * SRM: the χ² sum in numpy, cross-checked against scipy.stats.chisquare;
  * Holm / BH: R p.adjust-style cumulative max/min over ranks, BH cross-checked against
    scipy.stats.false_discovery_control;
  * MDE: brentq, in the lift, on the power to detect the lift in its own direction,
    1 − Φ(z(1−α/2) − Δ/SE(Δ)) = target (TS: the closed-form standardised effect
    z(1−α/2) + z(target), then the quadratic) — GrowthBook's definition;
  * units for a power: brentq in the total units on the two-sided power (TS: bisection);
  * sequential factor: STATS.md's half-width formula as written;
  * capping: numpy.quantile(method="linear") (type 7).
"""

import json
import math
from pathlib import Path

import numpy as np
from scipy import optimize, stats

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "stats" / "tools.json"
SRM_THRESHOLD = 0.001


# ---- SRM ------------------------------------------------------------------------------------------


def srm(observed, weights):
    """χ² over the arms with weight > 0 only: their units, their share of the weight, df = k − 1.
    Units in a zero-weight arm are left out (the engine reports them as a separate warning)."""
    o = np.asarray(observed, dtype=float)
    w = np.asarray(weights, dtype=float)
    active = w > 0
    k = int(active.sum())
    oa, wa = o[active], w[active]
    total = oa.sum()
    if total == 0 or k < 2:
        return 0.0, 1.0
    e = wa / wa.sum() * total
    x2 = float(np.sum((oa - e) ** 2 / e))
    p = float(stats.chi2.sf(x2, k - 1))
    # scipy's goodness-of-fit test over the weighted arms must agree
    ref = stats.chisquare(oa, e)
    assert math.isclose(ref.statistic, x2, rel_tol=1e-12, abs_tol=1e-12), (observed, weights)
    assert math.isclose(ref.pvalue, p, rel_tol=1e-9, abs_tol=1e-300), (observed, weights)
    return x2, p


def srm_cases():
    fixed = [
        ([50_500, 49_500], [0.5, 0.5]),  # 1 point off at 100k: p ≈ 0.0016, just not flagged
        ([50_600, 49_400], [0.5, 0.5]),
        ([101_000, 99_000], [0.5, 0.5]),
        ([50_000, 50_000], [0.5, 0.5]),
        ([5_100, 4_900], [50, 50]),  # weights in any scale
        ([3_400, 3_300, 3_300], [1, 1, 1]),
        ([9_100, 900], [0.9, 0.1]),
        ([1_000, 1_000, 40], [0.5, 0.5, 0]),  # units in a zero-weight arm
        ([1_000, 1_200, 900], [0.5, 0.5, 0]),  # issue 14: χ² = 18.18 on df 1, p = 2.0079e-5
        ([0, 0, 500], [0.5, 0.5, 0]),  # units only where no traffic was meant to go: nothing to test
        ([1_000, 950, 0], [1, 1, 0]),
        ([120], [1]),  # one arm: nothing to test
        ([0, 0], [0.5, 0.5]),  # no units
        ([10, 3], [1, 0]),  # one arm with weight
        ([1, 0], [0.5, 0.5]),
        ([7, 13, 0, 20], [0.25, 0.25, 0.25, 0.25]),
    ]
    rng = np.random.default_rng(20240501)
    cases = list(fixed)
    for _ in range(30):
        k = int(rng.integers(2, 6))
        w = rng.dirichlet(np.ones(k)) if rng.random() < 0.5 else np.full(k, 1.0 / k)
        n = int(rng.integers(50, 500_000))
        # a skewed true split half of the time, so both flagged and clean cases occur
        true = w if rng.random() < 0.5 else rng.dirichlet(w * 400)
        obs = rng.multinomial(n, true / true.sum())
        cases.append(([int(v) for v in obs], [round(float(v), 6) for v in w]))
    out = []
    for observed, weights in cases:
        x2, p = srm(observed, weights)
        zero_weight_units = [{"arm": i, "units": int(o)} for i, (o, w) in enumerate(zip(observed, weights)) if w <= 0 and o > 0]
        out.append({"observed": observed, "weights": weights, "chiSquare": x2, "pValue": p, "flagged": p < SRM_THRESHOLD, "zeroWeightUnits": zero_weight_units})
    return out


# ---- Multiple testing ---------------------------------------------------------------------------


def holm(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    o = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[o]))
    out = np.empty(m)
    out[o] = adj
    return out


def bh(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    o = np.argsort(-p, kind="stable")  # decreasing
    ranks = m - np.arange(m)  # ascending rank of each, largest p has rank m
    adj = np.minimum(1.0, np.minimum.accumulate(p[o] * m / ranks))
    out = np.empty(m)
    out[o] = adj
    ref = stats.false_discovery_control(p, method="bh")
    assert np.allclose(ref, out, rtol=1e-12, atol=1e-15), p
    return out


def adjust_cases():
    fixed = [
        [0.01, 0.04, 0.03, 0.2],
        [0.05, 0.03, 0.01, 0.5],
        [0.0],
        [0.3],
        [0.0, 1.0, 0.5],
        [0.02, 0.02, 0.02, 0.02],  # ties
        [0.001, 0.01, 0.01, 0.04, 0.04, 0.2, 0.9],
        [1.0, 1.0],
        [0.049, 0.051],
    ]
    rng = np.random.default_rng(7)
    cases = list(fixed)
    for _ in range(16):
        m = int(rng.integers(2, 40))
        # a mix of nulls (uniform) and effects (small p), with some rounding to create ties
        p = np.where(rng.random(m) < 0.3, rng.beta(0.3, 8, m), rng.random(m))
        if rng.random() < 0.4:
            p = np.round(p, 2)
        cases.append([float(v) for v in p])
    out = []
    for p in cases:
        out.append({"pValues": p, "method": "holm", "adjusted": [float(v) for v in holm(p)]})
        out.append({"pValues": p, "method": "bh", "adjusted": [float(v) for v in bh(p)]})
    return out


def adjusted_interval(estimate, ci, padj, alpha):
    if padj > 0.999999:
        return None, None
    if estimate == 0 or padj == 0:
        return ci
    # the interval excluding 0 exactly when padj < alpha: z(1-α/2) times the SE implied by padj
    se = abs(estimate) / stats.norm.isf(padj / 2)
    lo, hi = estimate - stats.norm.isf(alpha / 2) * se, estimate + stats.norm.isf(alpha / 2) * se
    return (lo, hi) if lo < ci[0] and hi > ci[1] else ci


def interval_cases():
    rng = np.random.default_rng(11)
    out = []
    specs = []
    for _ in range(16):
        se = float(rng.uniform(0.005, 0.05))
        est = float(se * rng.uniform(0.3, 5) * rng.choice([-1, 1]))
        df = [None, None, 30.0, 8.0][int(rng.integers(0, 4))]
        alpha = [0.05, 0.05, 0.1, 0.01][int(rng.integers(0, 4))]
        factor = [1.0, 2.0, 5.0, 20.0][int(rng.integers(0, 4))]
        specs.append((est, se, df, alpha, factor))
    specs += [(0.03, 0.01, None, 0.05, 1e6), (0.0, 0.01, None, 0.05, 3.0), (0.2, 0.01, None, 0.05, 1.0)]
    for est, se, df, alpha, factor in specs:
        if df is None:
            p = float(2 * stats.norm.sf(abs(est) / se))
            crit = float(stats.norm.isf(alpha / 2))
        else:
            p = float(2 * stats.t.sf(abs(est) / se, df))
            crit = float(stats.t.isf(alpha / 2, df))
        padj = min(1.0, p * factor)
        ci = (est - crit * se, est + crit * se)
        lo, hi = adjusted_interval(est, ci, padj, alpha)
        out.append({"estimate": est, "ci": list(ci), "adjustedPValue": padj, "alpha": alpha, "lower": lo, "upper": hi})
    return out


# ---- Power / MDE --------------------------------------------------------------------------------


def seq_factor(alpha, n, tuning):
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    half_width_over_se = math.sqrt(n) * math.sqrt(2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    return half_width_over_se / stats.norm.ppf(1 - alpha / 2)


def power_ref(req):
    metric = req["metric"]
    if metric["type"] == "mean":
        mu, var = metric["mean"], metric["standardDeviation"] ** 2
    else:
        mu = metric["conversionRate"]
        var = mu * (1 - mu)
    alpha = req.get("alpha", 0.05)
    target = req.get("targetPower", 0.8)
    n = req["totalUnits"] / req["arms"]
    infl = seq_factor(alpha, 2 * n, req["sequential"].get("tuning", 5000)) ** 2 if "sequential" in req else 1.0
    z = stats.norm.ppf(1 - alpha / 2)

    def se(delta):
        mu_t = mu * (1 + delta)
        return math.sqrt(var * infl / (mu**2 * n) + var * infl * mu_t**2 / (mu**4 * n))

    def pw(delta):
        s = delta / se(delta)
        return stats.norm.sf(z - s) + stats.norm.cdf(-z - s)

    power = float(pw(req["effect"]))
    # the MDE: power to detect the lift in its own direction (the near tail) equals the target
    def near(delta):
        return stats.norm.sf(z - delta / se(delta))

    # as Δ → ∞, Δ/SE(Δ) → |μ|·sqrt(n / (σ²·infl)); attainable iff that limit beats the target
    s_inf = abs(mu) * math.sqrt(n / (var * infl))
    if stats.norm.sf(z - s_inf) <= target:
        return {"power": power, "mde": None, "mdeAttainable": False}
    hi = 1e-3
    while near(hi) < target:
        hi *= 2
    mde = float(optimize.brentq(lambda d: near(d) - target, 0.0, hi, xtol=1e-15, rtol=1e-14, maxiter=500))
    if metric["type"] == "binomial" and mu * (1 + mde) > 1:
        return {"power": power, "mde": None, "mdeAttainable": False}
    return {"power": power, "mde": mde, "mdeAttainable": True}


def power_at_units(req, total):
    """Two-sided power of req at `total` units (req's totalUnits ignored)."""
    return power_ref({**req, "totalUnits": total})["power"]


def units_ref(req):
    """The total units at which the two-sided power at req's effect reaches its target: brentq."""
    target = req.get("targetPower", 0.8)
    lo = 2 * req["arms"]
    if power_at_units(req, lo) >= target:
        return lo
    hi = lo * 2
    while power_at_units(req, hi) < target:
        hi *= 2
    return float(optimize.brentq(lambda t: power_at_units(req, t) - target, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))


def units_cases():
    cases = [
        {"metric": {"type": "binomial", "conversionRate": 0.2}, "arms": 2, "effect": 0.05},
        {"metric": {"type": "binomial", "conversionRate": 0.05}, "arms": 3, "effect": 0.1, "alpha": 0.1, "targetPower": 0.9},
        {"metric": {"type": "binomial", "conversionRate": 0.1}, "arms": 2, "effect": 0.05, "sequential": {"tuning": 5000}},
        {"metric": {"type": "mean", "mean": 12.5, "standardDeviation": 40}, "arms": 2, "effect": 0.05},
        {"metric": {"type": "mean", "mean": 10, "standardDeviation": math.sqrt(3909.9997749994377)}, "arms": 3, "effect": 0.05, "sequential": {"tuning": 5000}},
        {"metric": {"type": "mean", "mean": 100, "standardDeviation": 30}, "arms": 2, "effect": -0.02, "targetPower": 0.95},
        {"metric": {"type": "mean", "mean": 1, "standardDeviation": 0.1}, "arms": 2, "effect": 1.0},  # reached at the minimum
    ]
    return [{"request": req, "units": units_ref({**req, "totalUnits": 1})} for req in cases]


def power_cases():
    cases = [
        {"metric": {"type": "binomial", "conversionRate": 0.05}, "totalUnits": 20_000, "arms": 2, "effect": 0.1},
        {"metric": {"type": "binomial", "conversionRate": 0.05}, "totalUnits": 20_000, "arms": 3, "effect": 0.1},
        {"metric": {"type": "binomial", "conversionRate": 0.2}, "totalUnits": 5_000, "arms": 2, "effect": -0.1},
        {"metric": {"type": "binomial", "conversionRate": 0.5}, "totalUnits": 1_000, "arms": 2, "effect": 0.0},
        {"metric": {"type": "binomial", "conversionRate": 0.02}, "totalUnits": 200_000, "arms": 4, "effect": 0.05, "alpha": 0.1, "targetPower": 0.9},
        {"metric": {"type": "binomial", "conversionRate": 0.1}, "totalUnits": 50_000, "arms": 2, "effect": 0.05, "sequential": {"tuning": 5000}},
        {"metric": {"type": "binomial", "conversionRate": 0.1}, "totalUnits": 50_000, "arms": 2, "effect": 0.05, "sequential": {"tuning": 50_000}},
        {"metric": {"type": "binomial", "conversionRate": 0.1}, "totalUnits": 50_000, "arms": 2, "effect": 0.05, "sequential": {}},
        {"metric": {"type": "binomial", "conversionRate": 0.9}, "totalUnits": 40, "arms": 2, "effect": 0.05},  # MDE past rate 1
        {"metric": {"type": "binomial", "conversionRate": 0.01}, "totalUnits": 10, "arms": 2, "effect": 0.5},  # unattainable
        {"metric": {"type": "mean", "mean": 12.5, "standardDeviation": 40}, "totalUnits": 10_000, "arms": 2, "effect": 0.05},
        {"metric": {"type": "mean", "mean": 12.5, "standardDeviation": 40}, "totalUnits": 10_000, "arms": 5, "effect": 0.05, "alpha": 0.01},
        {"metric": {"type": "mean", "mean": -3, "standardDeviation": 2}, "totalUnits": 800, "arms": 2, "effect": 0.1},
        {"metric": {"type": "mean", "mean": 1, "standardDeviation": 10}, "totalUnits": 100, "arms": 2, "effect": 1.0},  # unattainable
        {"metric": {"type": "mean", "mean": 1, "standardDeviation": 1}, "totalUnits": 30, "arms": 2, "effect": 0.3, "targetPower": 0.5},
        {"metric": {"type": "mean", "mean": 100, "standardDeviation": 30}, "totalUnits": 2_000, "arms": 2, "effect": 0.02, "targetPower": 0.95, "sequential": {"tuning": 1000}},
        {"metric": {"type": "mean", "mean": 5, "standardDeviation": 20}, "totalUnits": 500, "arms": 2, "effect": 0.2, "alpha": 0.2, "targetPower": 0.3},
    ]
    # GrowthBook's power test scenarios (packages/shared/test/power.test.ts), values computed here:
    # a mean metric at 400k units over 3 arms, and weeks 1–9 of 4,500 units a week for a 10 %
    # conversion rate (5 % lift) and a revenue mean (30 % lift), fixed and sequential (N* 5000).
    gb_sd = math.sqrt(3909.9997749994377)
    cases.append({"metric": {"type": "mean", "mean": 10, "standardDeviation": gb_sd}, "totalUnits": 400_000, "arms": 3, "effect": 0.05})
    cases.append({"metric": {"type": "mean", "mean": 10, "standardDeviation": gb_sd}, "totalUnits": 400_000, "arms": 3, "effect": 0.05, "sequential": {"tuning": 5000}})
    for seq in (False, True):
        for week in range(1, 10):
            for metric, effect in (({"type": "binomial", "conversionRate": 0.1}, 0.05), ({"type": "mean", "mean": 0.1, "standardDeviation": math.sqrt(0.5)}, 0.3)):
                req = {"metric": metric, "totalUnits": 4_500 * week, "arms": 3, "effect": effect}
                if seq:
                    req["sequential"] = {"tuning": 5000}
                cases.append(req)
    rng = np.random.default_rng(3)
    for _ in range(25):
        if rng.random() < 0.5:
            metric = {"type": "binomial", "conversionRate": round(float(rng.uniform(0.005, 0.6)), 4)}
        else:
            metric = {"type": "mean", "mean": round(float(rng.uniform(0.5, 200)), 3), "standardDeviation": round(float(rng.uniform(0.5, 400)), 3)}
        req = {
            "metric": metric,
            "totalUnits": int(10 ** rng.uniform(2, 6)),
            "arms": int(rng.integers(2, 6)),
            "effect": round(float(rng.uniform(-0.3, 0.3)), 4),
            "alpha": [0.05, 0.1, 0.01][int(rng.integers(0, 3))],
            "targetPower": [0.8, 0.9, 0.5, 0.95][int(rng.integers(0, 4))],
        }
        if rng.random() < 0.3:
            req["sequential"] = {"tuning": int(rng.integers(500, 100_000))}
        cases.append(req)
    return [{"request": req, **power_ref(req)} for req in cases]


# ---- Capping ------------------------------------------------------------------------------------


def capping_cases():
    rng = np.random.default_rng(99)
    specs = []
    for i in range(14):
        n = int(rng.integers(1, 300))
        buyers = rng.random(n) < rng.uniform(0.05, 1)
        values = np.where(buyers, np.round(rng.lognormal(3, 1.2, n), 2), 0.0)
        specs.append((values, [0.5, 0.9, 0.95, 0.99, 0.999, 1.0][i % 6], bool(i % 3 == 0)))
    specs += [
        (np.array([5.0]), 0.99, False),
        (np.array([7.0, 7.0, 7.0]), 0.9, False),
        (np.array([-20.0, 0.0, 10.0, 15.5, 1000.0]), 0.75, False),  # a refund stays as it is
        (np.array([0.0, 0.0, 0.0, 250.0, 40.0]), 0.5, True),
        (np.arange(10, dtype=float), 0.9, False),  # 8.1, as quantileExactInclusive(0.9)(number) FROM numbers(10)
        (np.arange(5, dtype=float), 0.25, False),
    ]
    out = []
    for values, pct, ignore_zeros in specs:
        pool = values[values != 0] if ignore_zeros else values
        cap = float(np.quantile(pool, pct, method="linear"))
        capped = np.minimum(values, cap)
        out.append(
            {
                "values": [float(v) for v in values],
                "percentile": pct,
                "ignoreZeros": ignore_zeros,
                "cap": cap,
                "capped": [float(v) for v in capped],
                "n": int(len(values)),
                "sum": float(capped.sum()),
                "sumSquares": float((capped**2).sum()),
            }
        )
    return out


def main():
    data = {
        "about": "Generated by scripts/stats/reference_tools.py (numpy " + np.__version__ + ", scipy " + __import__("scipy").__version__ + "); do not edit by hand.",
        "srm": srm_cases(),
        "adjust": adjust_cases(),
        "adjustedInterval": interval_cases(),
        "power": power_cases(),
        "units": units_cases(),
        "capping": capping_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT}: " + ", ".join(f"{k} {len(v)}" for k, v in data.items() if isinstance(v, list)))


if __name__ == "__main__":
    main()
