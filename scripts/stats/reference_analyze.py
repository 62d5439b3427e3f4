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

The output is deterministic (seeded data, fixed case list). The parts: analyze_moments.py (per-arm
aggregates and the effect's moments), analyze_inference.py (the tests and `analyze`), analyze_cases.py
(the cases); this file writes the fixture.

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
import os

import numpy as np
import scipy

from analyze_cases import BAYES, CUPED_SCENARIOS, FREQ, PLAN, scenarios
from analyze_inference import analyze

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "stats", "analyze.json")


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
