"""Two cement-clinker plants of the analytics integration tests: one over its quota, one at grade 1.

Shared by tests/integration/test_analytics_analyze.py and test_publish_job.py (same registry, same day).
"""

from __future__ import annotations

from core.registry.creditcode import complete_credit_code

OVER = "91140200MA0H2KXX88"  # makes 48 t of clinker a day: over quota
GOOD = complete_credit_code("91140200", "MA0H2KYY")  # makes 96 t a day on its own process meters: grade 1
DAY0 = 1_764_518_400  # 2025-12-01 00:00 Asia/Shanghai

REGISTRY = """
enterprises:
  - code: {over}
    name: 大同示例水泥有限公司
    industry: "3011"
    county: 云冈区
    product: cement_clinker
    process_co2:
      clinker: {{cao: 0.66, mgo: 0.02}}
      source: 2025 年化验室熟料全分析
    gateways: [{{id: gw1}}]
    meters:
      - {{id: M01, gateway: gw1, carrier: electricity, role: main}}
      - {{id: M02, gateway: gw1, carrier: electricity, role: sub}}
      - {{id: G01, gateway: gw1, carrier: natural_gas, role: main}}
      - {{id: O01, gateway: gw1, carrier: output, role: process, product: cement_clinker}}
  - code: {good}
    name: 示例二号水泥有限公司
    industry: "3011"
    county: 平城区
    product: cement_clinker
    gateways: [{{id: gw1}}]
    meters:
      - {{id: M01, gateway: gw1, carrier: electricity, role: main}}
      - {{id: P01, gateway: gw1, carrier: electricity, role: process, product: cement_clinker}}
      - {{id: G01, gateway: gw1, carrier: natural_gas, role: process, product: cement_clinker}}
      - {{id: O01, gateway: gw1, carrier: output, role: process, product: cement_clinker}}
"""
