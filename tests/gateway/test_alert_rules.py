"""The shipped Prometheus alert rules (ops/prometheus/qms-alerts.yml) only use metrics and labels that the
gateway really exports, and every rule says how bad it is and what it means."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.gateway.gwkit import Gateway, login, make_tenant, scrape

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus" / "qms-alerts.yml"
METRIC = re.compile(r"\b(qms_[a-z_]+)(\{[^}]*\})?")
SUFFIXES = ("_bucket", "_count", "_sum")


def test_alert_rules_use_exported_metrics(gateway: Gateway) -> None:
    tenant = make_tenant(gateway.db_url)
    token = login(gateway, tenant)["access_token"]
    r = gateway.client(token).post("/rpc/no_such_fn", json={})  # an error sample
    assert r.status_code == 404 and r.json()["code"] == "UNKNOWN_FUNCTION"
    families, samples = scrape(gateway.url)
    labels: dict[str, set[str]] = {}
    for sample in samples:
        labels.setdefault(sample.name, set()).update(sample.labels)

    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 6 and len({r["alert"] for r in rules}) == len(rules)
    used = set()
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        for name, matcher in METRIC.findall(rule["expr"]):
            base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
            exported = name in labels or base in families or name.removesuffix("_total") in families
            assert exported, f"{rule['alert']}: {name} is not exported"
            used.add(base)
            keys = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matcher))
            if name in labels:  # the metric has samples: its matchers must name labels it carries
                assert keys <= labels[name] | {"le"}, f"{rule['alert']}: {keys - labels[name]} not on {name}"
    # the signals an operator needs most are covered
    assert {"qms_listen_connection_up", "qms_http_errors_total", "qms_db_pool_waiting"} <= used
