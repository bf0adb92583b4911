"""Issue 18's "done when" on a simulated county of 50 plants (pure: the integration test covers the services).

The plan for X kW meets X, nobody is planned below its security load, the priority order holds, and the
verification finds the plants that ignored the plan with recall and precision >= 0.9 (docs/orderly.md "Quality").
"""

from __future__ import annotations

from simulators.orderly import build_scenario
from tests.support.orderly_evaluation import DAYS, FIRST, evaluate


def test_a_county_of_50_plants() -> None:
    o = evaluate(build_scenario(50, 8, FIRST, DAYS), share_of_reducible=0.6)
    assert o.planned_kw == o.shortfall_kw > 0
    assert o.below_security == 0 and o.order_violations == 0
    assert o.ignorers_asked >= 3 and o.asked >= 10
    assert o.recall >= 0.9 and o.precision >= 0.9
    assert o.statuses["no_data"] == 0
