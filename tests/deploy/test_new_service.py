"""`make new-service` (deploy/new_service.py), run on a copy of the repo, never on the repo itself.

The copy gets a service named ``loa_phuong`` (process ``loa-phuong``); then the generated
service's own tests run from the copy on the real broker and store, docker-compose and
kustomize render the copy with the new process in them (and everything else as before), and
the generator refuses bad and taken names without touching a file.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "deploy" / "new_service.py"
NAME, PROCESS = "loa_phuong", "loa-phuong"
# what the generator and the generated service's tests need from the repo
COPIED = ["conftest.py", "pyproject.toml", "Makefile", "Dockerfile", ".dockerignore", "docker-compose.yml",
          "services", "shared", "deploy", "k8s", "tests/__init__.py", "tests/deploy/test_manifests.py"]
WIRED = ["docker-compose.yml", "deploy/prometheus/prometheus.yml", "k8s/base/kustomization.yaml",
         "deploy/local/env.sh", "tests/deploy/test_manifests.py"]
K8S_VERSION = "1.31"
PLACEHOLDERS = ("_template", "Template", "process-template", "9199")


def copy_repo(target):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for item in COPIED:
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, target / item, ignore=ignore)
        else:
            (target / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / item)


def generate(root, name, *extra):
    return subprocess.run([sys.executable, str(GENERATOR), name, "--root", str(root), *extra],
                          capture_output=True, text=True, timeout=60, check=False)


def in_copy(root, command, timeout=120, **env):
    """``command`` run from the copy, importing the copy's packages first."""
    environ = dict(os.environ, PYTHONPATH=str(root), **env)
    return subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, timeout=timeout, check=False)


def compose_config(root):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    result = in_copy(root, [binary, "-f", "docker-compose.yml", "config"])
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def kustomize(root):
    command = (["kustomize", "build"] if shutil.which("kustomize") else
               ["kubectl", "kustomize"] if shutil.which("kubectl") else None)
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: cannot render kustomizations")
    result = in_copy(root, command + ["k8s/base"])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The copy after the generator ran once, with what compose and kustomize rendered before."""
    root = tmp_path_factory.mktemp("repo")
    copy_repo(root)
    before = {"compose": compose_config(root) if shutil.which("docker-compose") else None,
              "k8s": kustomize(root) if shutil.which("kustomize") or shutil.which("kubectl") else None,
              "files": {path: (root / path).read_text() for path in WIRED}}
    result = generate(root, NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, before, result.stdout


def metrics_port(copy):
    root = copy[0]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    return int(compose["services"][PROCESS]["environment"]["METRICS_PORT"])


def test_the_generated_service_is_complete_and_named_throughout(copy):
    root, before, output = copy
    package = root / "services" / NAME
    for path in ("service.py", "repository.py", "schemas.py", "domain.py", "API.md", "__init__.py",
                 "tests/__init__.py", "tests/test_service.py", "tests/test_domain.py"):
        assert (package / path).is_file(), path
    assert not (package / "deploy").exists(), "the template's deployment pieces are not part of the service"
    for path in [*package.rglob("*.py"), package / "API.md", root / "deploy" / "config" / f"{NAME}.yaml",
                 root / "k8s" / "base" / "apps" / f"{PROCESS}.yaml"]:
        text = path.read_text()
        assert not [p for p in PLACEHOLDERS if p in text], f"{path} keeps a placeholder"
    service = (package / "service.py").read_text()
    assert "class LoaPhuongService:" in service and 'name = "loa_phuong"' in service
    # BaseLoader: no implicit resolvers, so nameko's ${VAR:default} resolver (registered on
    # SafeLoader once nameko's config code is imported) does not expand the values read here
    config = yaml.load((root / "deploy" / "config" / f"{NAME}.yaml").read_text(), Loader=yaml.BaseLoader)
    port = metrics_port(copy)
    assert config["MONGO_DATABASE"] == "${LOA_PHUONG_DATABASE:loa_phuong}"
    assert config["METRICS_PORT"] == f"${{METRICS_PORT:{port}}}"
    # past every metrics port the repo used before
    used = [int(p) for p in re.findall(r'METRICS_PORT: "(\d+)"', before["files"]["docker-compose.yml"])]
    assert port > max(used)
    assert f"metrics port {port}" in output and "docs/events.md" in output and "README.md" in output


def test_the_generated_services_own_tests_pass_on_the_real_broker_and_store(copy):
    root = copy[0]
    probe = f"import services.{NAME}.service as m, shared; print(m.__file__); print(shared.__file__)"
    where = in_copy(root, [sys.executable, "-c", probe])
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(root)) for line in where.stdout.split()), where.stdout
    result = in_copy(root, [sys.executable, "-m", "pytest", f"services/{NAME}/tests", "-q", "-p", "no:cacheprovider"],
                     timeout=240)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary, summary
    assert not [word for word in ("failed", "error", "skipped") if word in summary], summary


def test_compose_renders_with_the_new_process_and_the_others_unchanged(copy):
    root, before, _ = copy
    after = compose_config(root)
    assert in_copy(root, [shutil.which("docker-compose"), "-f", "docker-compose.yml", "config", "-q"]).returncode == 0
    service = after["services"].pop(PROCESS)
    assert after["services"] == before["compose"]["services"]
    assert service["command"] == ["nameko", "run", "--config", f"deploy/config/{NAME}.yaml", f"services.{NAME}.service"]
    port = metrics_port(copy)
    assert str(service["environment"]["METRICS_PORT"]) == str(port)
    assert f"http://localhost:{port}/healthz" in service["healthcheck"]["test"]
    assert service["read_only"] is True and "ALL" in service["cap_drop"] and service["user"].startswith("10001")
    assert {name: rule["condition"] for name, rule in service["depends_on"].items()} == {
        "rabbitmq": "service_healthy", "mongo": "service_healthy"}
    # the hand-written file keeps its comments
    header = before["files"]["docker-compose.yml"].split("services:")[0]
    assert (root / "docker-compose.yml").read_text().startswith(header)


def test_kustomize_renders_a_valid_deployment_like_the_compose_service(copy):
    root, before, _ = copy
    docs = kustomize(root)
    ours = [d for d in docs if d["metadata"]["name"] == PROCESS]
    assert sorted(d["kind"] for d in ours) == ["Deployment", "PodDisruptionBudget", "Service"]
    others = [d for d in docs if d["metadata"]["name"] != PROCESS]
    assert others == before["k8s"]
    for doc in ours:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert doc["metadata"]["namespace"] == "tinxa"
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == PROCESS
    deployment = next(d for d in ours if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())["services"][PROCESS]
    assert container["command"] == compose["command"]
    env = {var["name"]: var.get("value") for var in container["env"]}
    assert env["METRICS_PORT"] == compose["environment"]["METRICS_PORT"]
    assert container["ports"][0]["containerPort"] == metrics_port(copy)
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_prometheus_make_up_and_the_manifest_tests_know_the_process(copy):
    root = copy[0]
    port = metrics_port(copy)
    prometheus = yaml.safe_load((root / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert {"job_name": PROCESS, "static_configs": [{"targets": [f"{PROCESS}:{port}"]}]} in prometheus["scrape_configs"]
    listed = in_copy(root, ["bash", "-c", 'source deploy/local/env.sh; printf "%s\\n" "${PROCESSES[@]}"'])
    entries = listed.stdout.splitlines()
    assert f"{PROCESS}|{port - 9100}|.venv/bin/nameko run --config deploy/config/{NAME}.yaml services.{NAME}.service" \
        in entries
    assert entries[-1].startswith("gateway|"), "the gateway stays the last process make up starts"
    manifests = (root / "tests" / "deploy" / "test_manifests.py").read_text()
    assert f'"{PROCESS}"}}' in manifests


@pytest.mark.parametrize("name, why", [
    ("Loa", "not a service name"),
    ("1loa", "not a service name"),
    ("loa-phuong", "not a service name"),
    ("loa__phuong", "not a service name"),
    ("loa_", "not a service name"),
    ("x", "not a service name"),
    ("a" * 32, "not a service name"),
    ("class", "Python keyword"),
    ("match", "Python keyword"),
    ("training", "services/training already exists"),
    ("sync_hub", "'sync-hub' is already"),
    (NAME, f"services/{NAME} already exists"),
])
def test_a_bad_or_taken_name_is_refused_and_nothing_changes(copy, name, why):
    root = copy[0]
    wired = {path: (root / path).read_text() for path in WIRED}
    services = sorted(p.name for p in (root / "services").iterdir())
    result = generate(root, name)
    assert result.returncode == 2, result.stdout + result.stderr
    assert why in result.stderr and result.stdout == ""
    assert {path: (root / path).read_text() for path in WIRED} == wired
    assert sorted(p.name for p in (root / "services").iterdir()) == services


def test_make_new_service_needs_a_name_and_passes_refusals_on(copy):
    root = copy[0]
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    bare = in_copy(root, ["make", "-s", "new-service", f"PYTHON={sys.executable}"])
    assert bare.returncode != 0 and "usage: make new-service NAME=" in bare.stdout + bare.stderr
    taken = in_copy(root, ["make", "-s", "new-service", "NAME=training", f"PYTHON={sys.executable}"])
    assert taken.returncode != 0 and "services/training already exists" in taken.stderr
