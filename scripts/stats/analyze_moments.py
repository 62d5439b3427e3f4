"""Per-arm aggregates from per-unit data, and the effect's moments (reference_analyze.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

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
