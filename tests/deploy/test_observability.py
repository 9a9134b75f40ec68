"""Offline checks of monitoring: the Prometheus config and alert rules (with promtool), the
rules' unit tests (deploy/prometheus/alerts_test.yml), the Grafana dashboards and their
provisioning — and that every metric an alert or a panel asks for is one the code exports
(or RabbitMQ's, or Prometheus's own).

promtool comes with Debian's `prometheus` package, which `make test` installs
(TINXA_TEST_PACKAGES); without it the promtool checks are skipped, saying so.
"""
import functools
import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_FILE = PROMETHEUS_DIR / "prometheus.yml"
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST_FILE = PROMETHEUS_DIR / "alerts_test.yml"
GRAFANA = ROOT / "deploy" / "compose" / "grafana"
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "prometheus.yaml"
DASHBOARD_PROVIDER_FILE = GRAFANA / "provisioning" / "dashboards" / "tinxa.yml"
DASHBOARDS_DIR = GRAFANA / "dashboards"
DASHBOARDS = ["overview", "devices", "broadcasts", "sync"]
COMPOSE_FILE = ROOT / "docker-compose.yml"
CODE_DIRS = [ROOT / "shared", ROOT / "services"]

SEVERITIES = {"critical", "warning"}
# Prometheus's own series, and the broker's (rabbitmq_prometheus) by prefix
PROMETHEUS_METRICS = {"up", "ALERTS", "ALERTS_FOR_STATE"}
EXTERNAL_PREFIXES = ("rabbitmq_",)
# letters only Vietnamese uses among Latin scripts: a text with none is not Vietnamese
VIETNAMESE = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package `prometheus`; `make test` installs it via TINXA_TEST_PACKAGES)")


# ---------------------------------------------------------------------------- loading

@functools.cache
def load_yaml(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def alert_rules():
    return [rule for group in load_yaml(ALERTS_FILE)["groups"] for rule in group["rules"] if "alert" in rule]


@functools.cache
def dashboard(name):
    return json.loads((DASHBOARDS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def panels_of(board):
    """Every panel, the ones inside rows too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def provisioned_uid():
    [source] = [d for d in load_yaml(DATASOURCES_FILE)["datasources"] if d["type"] == "prometheus"]
    return source["uid"]


def promtool(*args):
    result = subprocess.run([PROMTOOL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    print(f"$ promtool {' '.join(args)}\n{output}")  # shown with -s or on failure
    assert result.returncode == 0, output
    return output


# ---------------------------------------------------------------------------- metric names

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                   "offset", "inf", "nan", "atan2"}


def metric_names(expr):
    """The metric names a PromQL expression selects (a parse good enough for our own queries:
    strings, label matchers, ranges and grouping lists removed; a name is a word that is not a
    keyword and not called as a function)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^{}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w$.:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", expr):
        if match.group(1).lower() not in PROMQL_KEYWORDS:
            names.add(match.group(1))
    return names


def test_metric_names_are_read_from_promql():
    query = 'sum by (service) (rate(tinxa_entrypoint_calls_total{outcome!="ok", x=~"a|b"}[$__rate_interval]))'
    assert metric_names(query) == {"tinxa_entrypoint_calls_total"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m] offset 1h)))") == {"a_bucket"}
    assert metric_names("max by (c) (x{s=\"offline\"}) / on (c) max by (c) (sum without (s) (y)) > 0.25 "
                        "unless on (d) z == 1 or vector(0)") == {"x", "y", "z"}
    assert metric_names('up{job=~"gateway|tasks"} == 0') == {"up"}


DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)\(\s*[\"']([A-Za-z_:][\w:]*)[\"']")


@functools.cache
def defined_metrics():
    """Every series name the code's prometheus_client metrics expose, with the suffixes the
    client adds (counters ``_total``; histograms ``_bucket``/``_count``/``_sum``; ``_created``)."""
    exposed = set()
    for directory in CODE_DIRS:
        for path in directory.rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "prometheus_client" not in text:
                continue
            for kind, name in DEFINITION.findall(text):
                if kind == "Counter":
                    base = name.removesuffix("_total")
                    exposed |= {f"{base}_total", f"{base}_created"}
                elif kind == "Histogram":
                    exposed |= {f"{name}_bucket", f"{name}_count", f"{name}_sum", f"{name}_created"}
                elif kind == "Summary":
                    exposed |= {name, f"{name}_count", f"{name}_sum", f"{name}_created"}
                elif kind == "Info":
                    exposed.add(f"{name}_info")
                else:
                    exposed.add(name)
    return exposed


def test_the_code_defines_the_metrics_the_monitoring_relies_on():
    metrics = defined_metrics()
    for name in ("tinxa_entrypoint_calls_total", "tinxa_entrypoint_seconds_bucket", "tinxa_devices",
                 "tinxa_sync_backlog", "tinxa_sync_lag_seconds", "tinxa_sync_stream_paused",
                 "tinxa_sync_agent_connected", "tinxa_grpc_server_handled_total"):
        assert name in metrics
    assert "tinxa_entrypoint_seconds" not in metrics  # a histogram is read through its suffixes


def unknown_metrics(names):
    return sorted(n for n in names if n not in PROMETHEUS_METRICS and not n.startswith(EXTERNAL_PREFIXES)
                  and n not in defined_metrics())


def dashboard_queries():
    """(dashboard, where, PromQL) of every panel target and templating query."""
    for name in DASHBOARDS:
        board = dashboard(name)
        for panel in panels_of(board):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield name, panel["title"], target["expr"]
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            # label_values(metric, label) names a metric, then a label
            found = re.fullmatch(r"\s*label_values\(\s*(?:(.+?)\s*,)?\s*(\w+)\s*\)\s*", query)
            if found:
                if found.group(1):
                    yield name, f"variable {variable['name']}", found.group(1)
            else:
                yield name, f"variable {variable['name']}", query


def test_every_metric_an_alert_uses_is_exported():
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert not unknown_metrics(names), f"{rule['alert']} uses metrics nothing exports: {unknown_metrics(names)}"


def test_every_metric_a_dashboard_uses_is_exported():
    queries = list(dashboard_queries())
    assert queries
    for name, where, expr in queries:
        names = metric_names(expr)
        assert names, f"{name}.json, {where}: no metric in {expr!r}"
        assert not unknown_metrics(names), f"{name}.json, {where}: metrics nothing exports: {unknown_metrics(names)}"


# ---------------------------------------------------------------------------- promtool

@needs_promtool
def test_promtool_accepts_the_prometheus_config_and_finds_the_rules():
    output = promtool("check", "config", str(PROMETHEUS_FILE.relative_to(ROOT)))
    assert "1 rule files found" in output


@needs_promtool
def test_promtool_accepts_the_alert_rules():
    output = promtool("check", "rules", str(ALERTS_FILE.relative_to(ROOT)))
    assert f"{len(alert_rules())} rules found" in output


@needs_promtool
def test_the_alert_rules_pass_their_unit_tests():
    promtool("test", "rules", str(ALERTS_TEST_FILE.relative_to(ROOT)))


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each panel's query, as a recording rule (Grafana's variables replaced)."""
    rules = []
    for n, (_, _, expr) in enumerate(q for q in dashboard_queries() if not q[1].startswith("variable ")):
        expr = expr.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$commune", ".*")
        assert "$" not in expr, expr
        rules.append({"record": f"tinxa:dashboard_query_{n}", "expr": expr})
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, allow_unicode=True))
    assert f"{len(rules)} rules found" in promtool("check", "rules", str(path))


# ---------------------------------------------------------------------------- rules

def test_prometheus_loads_the_rules_file_and_compose_mounts_it_beside_the_config():
    config = load_yaml(PROMETHEUS_FILE)
    assert config["rule_files"] == ["alerts.yml"]  # relative to the config file
    assert (PROMETHEUS_FILE.parent / "alerts.yml").is_file()
    prometheus = load_yaml(COMPOSE_FILE)["services"]["prometheus"]
    mounts = dict(v.split(":")[:2] for v in prometheus["volumes"] if v.startswith("./"))
    config_path = Path(mounts["./deploy/prometheus/prometheus.yml"])
    assert Path(mounts["./deploy/prometheus/alerts.yml"]) == config_path.parent / "alerts.yml"
    assert f"--config.file={config_path}" in prometheus["command"]


def test_every_alert_has_a_severity_and_a_vietnamese_and_english_summary_and_description():
    rules = alert_rules()
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule.get("labels", {}).get("severity") in SEVERITIES, rule["alert"]
        assert rule.get("for"), f"{rule['alert']} fires on a single evaluation"
        for key in ("summary", "description"):
            text = rule.get("annotations", {}).get(key, "")
            vietnamese, slash, english = text.partition(" / ")
            assert slash, f"{rule['alert']} {key}: «Vietnamese / English» expected: {text!r}"
            assert VIETNAMESE & set(vietnamese.lower()), f"{rule['alert']} {key}: no Vietnamese: {vietnamese!r}"
            plain = english.replace("TinXã", "TinXa")  # the product's name is the same in both
            assert plain.strip() and not VIETNAMESE & set(plain.lower()), f"{rule['alert']} {key}: {english!r}"


def test_the_rules_and_dashboards_are_utf8_nfc():
    for path in [ALERTS_FILE, ALERTS_TEST_FILE, DASHBOARD_PROVIDER_FILE,
                 *(DASHBOARDS_DIR / f"{name}.json" for name in DASHBOARDS)]:
        text = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), path


def test_every_alert_is_unit_tested_firing_and_quiet():
    fired, quiet = set(), set()
    for case in load_yaml(ALERTS_TEST_FILE)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown staying quiet"
    assert load_yaml(ALERTS_TEST_FILE)["rule_files"] == ["alerts.yml"]


def test_the_dead_letter_alert_watches_the_queue_the_handlers_use():
    from shared.handlers import DEAD_LETTER_QUEUE

    [rule] = [r for r in alert_rules() if r["alert"] == "TinxaDeadLetters"]
    assert f'queue="{DEAD_LETTER_QUEUE}"' in rule["expr"]


# ---------------------------------------------------------------------------- Grafana

def test_grafana_provisions_the_dashboards_from_the_directory_compose_mounts():
    [provider] = load_yaml(DASHBOARD_PROVIDER_FILE)["providers"]
    assert provider["type"] == "file"
    grafana = load_yaml(COMPOSE_FILE)["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./deploy/compose/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/compose/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert sorted(p.stem for p in DASHBOARDS_DIR.glob("*.json")) == sorted(DASHBOARDS)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_is_valid_and_uses_the_provisioned_datasource(name):
    board = dashboard(name)
    uid = provisioned_uid()
    assert board["title"].startswith("TinXã") and board["uid"] == f"tinxa-{name}"
    panels = list(panels_of(board))
    assert panels
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel.get("title"), panel
        assert panel.get("datasource", {}).get("uid") == uid, f"{name}: {panel['title']}"
        assert panel["targets"], f"{name}: {panel['title']} queries nothing"
        for target in panel["targets"]:
            assert target.get("datasource", {}).get("uid") in (None, uid), f"{name}: {panel['title']}"
            assert target.get("expr"), f"{name}: {panel['title']}"
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            assert variable["datasource"]["uid"] == uid


def test_dashboard_uids_are_unique():
    uids = [dashboard(name)["uid"] for name in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("conf", ["deploy/compose/rabbitmq/rabbitmq.conf", "k8s/base/infra/rabbitmq/rabbitmq.conf",
                                  "k8s/overlays/province/rabbitmq.conf"])
def test_every_broker_config_exports_per_queue_series(conf):
    """Without per-object metrics rabbitmq_prometheus reports totals with no
    ``queue`` label, and the backlog and dead-letter alerts never fire."""
    settings = dict(line.split("=", 1) for line in (ROOT / conf).read_text().splitlines()
                    if "=" in line and not line.lstrip().startswith("#"))
    assert {k.strip(): v.strip() for k, v in settings.items()}.get("prometheus.return_per_object_metrics") == "true"
