"""Offline checks of the deployment files: Dockerfile, docker-compose.yml, Prometheus, k8s/.

No docker engine and no cluster: docker-compose renders the compose file, `kubectl kustomize`
(or `kustomize`) renders each kustomization, kubernetes-validate checks every object against
the Kubernetes schemas, and the rest are rules this project holds its deployments to.
"""

import functools
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_DATASOURCES = ROOT / "deploy" / "compose" / "grafana" / "provisioning" / "datasources"
K8S = ROOT / "k8s"
KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/district"]

# The oldest Kubernetes a district cluster is expected to run.
K8S_VERSION = "1.31"
NAMESPACE = "tinxa"
APP_UID = 10001
APP_IMAGE = "tinxa"
# Compose services that are not TinXã processes.
INFRA = {"rabbitmq", "mongo", "prometheus", "grafana"}
# The processes that must exist in both compose and k8s (later services add themselves).
PROCESSES = {"gateway", "tasks", "content", "telemetry", "telemetry-edge", "broadcast", "training", "sync", "sync-agent", "sync-hub"}
# Secrets the base references and an overlay (or the operator) must provide.
PROVIDED_SECRETS = {"tinxa-gateway", "tinxa-training", "tinxa-sync", "tinxa-rabbitmq"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                        "StorageClass", "CustomResourceDefinition", "PriorityClass"}


# ---------------------------------------------------------------------------- loading

@functools.lru_cache(maxsize=None)
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def app_services():
    return {name: svc for name, svc in compose()["services"].items() if name not in INFRA}


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


@functools.lru_cache(maxsize=None)
def prometheus_targets():
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                targets[target] = job["job_name"]
    return targets


def load_yaml_documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization_files():
    return sorted(K8S.rglob("kustomization.yaml"))


def kustomization_references(path):
    """Every local path a kustomization names, as (kind of reference, resolved path)."""
    spec = yaml.safe_load(path.read_text())
    here = path.parent
    refs = []
    for entry in spec.get("resources", []) + spec.get("components", []) + spec.get("crds", []):
        if "://" not in entry:
            refs.append(("resource", here / entry))
    for patch in spec.get("patches", []) + spec.get("patchesJson6902", []):
        if "path" in patch:
            refs.append(("patch", here / patch["path"]))
    for patch in spec.get("patchesStrategicMerge", []):
        if "\n" not in patch:
            refs.append(("patch", here / patch))
    for generator in spec.get("configMapGenerator", []) + spec.get("secretGenerator", []):
        for item in generator.get("files", []) + generator.get("envs", []):
            refs.append(("generator", here / item.split("=", 1)[-1]))
    return refs


def manifest_files():
    """Every YAML file under k8s/ that is a whole manifest (not a kustomization or a patch)."""
    patches = {ref.resolve() for k in kustomization_files()
               for kind, ref in kustomization_references(k) if kind == "patch"}
    return sorted(p for p in list(K8S.rglob("*.yaml")) + list(K8S.rglob("*.yml"))
                  if p.name != "kustomization.yaml" and p.resolve() not in patches)


def kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@functools.lru_cache(maxsize=None)
def render(kustomization):
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: cannot render kustomizations")
    result = subprocess.run(command + [str(K8S / kustomization)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(command)} {kustomization} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def schema_error(error):
    return f"{error.message} at /{'/'.join(str(part) for part in error.absolute_path)}"


def kn(doc):
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_spec(workload):
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload):
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def app_deployments(docs):
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"
            and any(c["image"].split(":")[0].split("/")[-1] == APP_IMAGE
                    for c in pod_spec(doc)["containers"])}


# ---------------------------------------------------------------------------- hardening rules

def workload_problems(workload):
    """What keeps a workload from the hardening every TinXã pod gets; empty when none."""
    name = kn(workload)
    spec = pod_spec(workload)
    pod_sc = spec.get("securityContext") or {}
    problems = []
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"{name}: {flag} is set")
    containers = [(c, True) for c in spec.get("containers", [])]
    containers += [(c, False) for c in spec.get("initContainers", [])]
    for container, long_running in containers:
        where = f"{name} container {container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if not uid:
            problems.append(f"{where}: runAsUser is not a non-zero uid")
        if container["image"].split(":")[0].split("/")[-1] == APP_IMAGE and uid != APP_UID:
            problems.append(f"{where}: runs as {uid}, not {APP_UID}")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        elif not any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])):
            problems.append(f"{where}: read-only root but no writable /tmp mounted")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if capabilities.get("add"):
            problems.append(f"{where}: adds capabilities {capabilities['add']}")
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(section) or {}):
                    problems.append(f"{where}: no {section}.{resource}")
        if long_running and workload["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}:
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    problems.append(f"{where}: no {probe}")
    return problems


def test_hardening_rules_reject_an_unhardened_deployment():
    gateway = next(d for d in load_yaml_documents(K8S / "base" / "apps" / "gateway.yaml")
                   if d["kind"] == "Deployment")
    assert workload_problems(gateway) == []
    spec = gateway["spec"]["template"]["spec"]
    del spec["securityContext"]
    for container in spec["containers"]:
        for key in ("securityContext", "readinessProbe", "livenessProbe", "resources"):
            del container[key]
    problems = "\n".join(workload_problems(gateway))
    for rule in ("seccompProfile", "runAsNonRoot", "runAsUser", "allowPrivilegeEscalation",
                 "readOnlyRootFilesystem", "drop ALL", "requests.cpu", "limits.memory",
                 "readinessProbe", "livenessProbe"):
        assert rule in problems


# ---------------------------------------------------------------------------- Dockerfile

def dockerfile_stages():
    stages, current = [], None
    for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = []
            stages.append(current)
        if current is not None:
            current.append(line)
    return stages


def test_dockerfile_final_stage_is_slim_and_unprivileged():
    stages = dockerfile_stages()
    assert stages, "Dockerfile has no FROM"
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"python:3\.11-slim", text), "base image is not python:3.11-slim"
    final = stages[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] == str(APP_UID), "final stage does not run as 10001"
    envs = " ".join(line for line in final if line.upper().startswith("ENV "))
    assert re.search(r"PYTHONUNBUFFERED=1\b", envs), "PYTHONUNBUFFERED=1 not set"
    installs = " ".join(line for line in final if "apt-get install" in line or "apk add" in line)
    for tool in ("build-essential", "gcc", "g++", "make", "-dev"):
        assert tool not in installs, f"final stage installs build tool {tool!r}"


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "**/__pycache__"):
        assert entry in ignored


# ---------------------------------------------------------------------------- compose

def test_compose_file_renders():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    result = subprocess.run([binary, "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_process():
    assert PROCESSES <= set(app_services())
    assert INFRA <= set(compose()["services"])


@pytest.mark.parametrize("name", sorted(app_services()))
def test_compose_process_is_wired_and_hardened(name):
    service = app_services()[name]
    assert service.get("image") == f"{APP_IMAGE}:latest"
    assert service.get("build") in (".", {"context": "."})
    assert service.get("restart") in {"always", "unless-stopped", "on-failure"}
    assert service.get("command"), "no command (the image has none of its own)"
    test = (service.get("healthcheck") or {}).get("test")
    assert test and test != ["NONE"], "no healthcheck"
    depends = service.get("depends_on")
    assert isinstance(depends, dict), "depends_on must use the long form with conditions"
    for dependency in ("rabbitmq", "mongo"):
        assert (depends.get(dependency) or {}).get("condition") == "service_healthy", dependency
    env = environment(service)
    for key in ("AMQP_URI", "MONGO_URI", "METRICS_PORT", "LOG_LEVEL"):
        assert key in env, f"environment lacks {key}"
    assert str(service.get("user", "")).split(":")[0] == str(APP_UID)
    assert service.get("read_only") is True
    assert "ALL" in service.get("cap_drop", [])


def test_compose_dependencies_have_healthchecks():
    services = compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, dict):
            for dependency, rule in depends.items():
                if (rule or {}).get("condition") == "service_healthy":
                    assert (services[dependency].get("healthcheck") or {}).get("test"), (
                        f"{name} waits for {dependency} to be healthy, which has no healthcheck")


@pytest.mark.parametrize("secret", ["GATEWAY_SECRET_KEY", "CERTIFICATE_SECRET"])
def test_compose_secrets_are_overridable_dev_defaults(secret):
    raw = COMPOSE_FILE.read_text()
    match = re.search(rf"{secret}:\s*\$\{{{secret}:-([^}}]*)\}}", raw)
    assert match, f"{secret} must come from the environment"
    assert "dev" in match.group(1), "the fallback must be marked as a development value"


def test_compose_volumes_are_named_or_exist():
    declared = set(compose().get("volumes") or {})
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
    for name in ("rabbitmq", "mongo", "prometheus", "grafana"):
        sources = [v.split(":")[0] for v in compose()["services"][name].get("volumes", [])]
        assert any(s in declared for s in sources), f"{name} keeps its data in no named volume"


def test_compose_broker_has_mqtt_and_management():
    rabbitmq = compose()["services"]["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:3.13-management")
    mounts = {v.split(":")[1]: ROOT / v.split(":")[0] for v in rabbitmq["volumes"]
              if v.startswith("./")}
    plugins = mounts["/etc/rabbitmq/enabled_plugins"].read_text()
    assert "rabbitmq_mqtt" in plugins and "rabbitmq_management" in plugins
    conf = next(path for target, path in mounts.items() if target.startswith("/etc/rabbitmq/conf"))
    assert re.search(r"^mqtt\.listeners\.tcp\.default\s*=\s*\d+", conf.read_text(), re.M)


def test_compose_mongo_is_a_replica_set_initiated_by_its_healthcheck():
    mongo = compose()["services"]["mongo"]
    assert mongo["image"].startswith("mongo:7")
    assert "--replSet" in mongo["command"] and "rs0" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    for name, service in app_services().items():
        assert "replicaSet=rs0" in environment(service)["MONGO_URI"], name


@pytest.mark.parametrize("name", sorted(app_services()))
def test_prometheus_scrapes_every_process(name):
    port = environment(app_services()[name])["METRICS_PORT"]
    assert f"{name}:{port}" in prometheus_targets()


def test_prometheus_targets_are_compose_services():
    for target in prometheus_targets():
        host = target.rsplit(":", 1)[0]
        assert host == "localhost" or host in compose()["services"], target


def test_grafana_datasource_points_at_prometheus():
    urls = [source["url"] for path in GRAFANA_DATASOURCES.glob("*.y*ml")
            for source in yaml.safe_load(path.read_text())["datasources"]]
    assert "http://prometheus:9090" in urls


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_process_entrypoint_exists(name):
    """The module and nameko config each command names exist, once the service is written."""
    package = name.split("-")[0]
    if not (ROOT / "services" / package / "__init__.py").is_file():
        pytest.skip(f"services/{package} is not written yet")
    command = app_services()[name]["command"]
    module = command[command.index("-m") + 1] if "-m" in command else command[-1]
    module_path = ROOT / Path(*module.split("."))
    assert module_path.with_suffix(".py").is_file() or (module_path / "__main__.py").is_file()
    if "--config" in command:
        assert (ROOT / command[command.index("--config") + 1]).is_file()


# ---------------------------------------------------------------------------- k8s: files

@pytest.mark.parametrize("path", kustomization_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_references_exist(path):
    for kind, ref in kustomization_references(path):
        if kind == "resource" and ref.is_dir():
            assert (ref / "kustomization.yaml").is_file(), f"{ref} has no kustomization.yaml"
        else:
            assert ref.is_file(), f"{path} names missing {ref}"


def test_every_manifest_is_in_a_kustomization():
    used = {ref.resolve() for k in kustomization_files() for _, ref in kustomization_references(k)}
    for path in manifest_files():
        assert path.resolve() in used, f"{path.relative_to(ROOT)} is in no kustomization"


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_file_is_valid_and_hardened(path):
    docs = load_yaml_documents(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.relative_to(ROOT)} {kn(doc)}: {schema_error(error)}")
        labels = doc["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "tinxa", kn(doc)
        if doc["kind"] in WORKLOAD_KINDS:
            assert workload_problems(doc) == []


# ---------------------------------------------------------------------------- k8s: rendered

@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_objects_are_valid(kustomization):
    for doc in render(kustomization):
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{kustomization} {kn(doc)}: {schema_error(error)}")
        labels = doc["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "tinxa", kn(doc)
        if doc["kind"] not in CLUSTER_SCOPED_KINDS:
            assert doc["metadata"].get("namespace") == NAMESPACE, kn(doc)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_workloads_are_hardened(kustomization):
    workloads = [d for d in render(kustomization) if d["kind"] in WORKLOAD_KINDS]
    assert PROCESSES <= {w["metadata"]["name"] for w in workloads if w["kind"] == "Deployment"}
    if kustomization.startswith("overlays/"):
        assert {"rabbitmq", "mongo"} <= {w["metadata"]["name"] for w in workloads
                                         if w["kind"] == "StatefulSet"}
    problems = [p for w in workloads for p in workload_problems(w)]
    assert problems == []


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_workloads_have_services_and_budgets(kustomization):
    docs = render(kustomization)
    workloads = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]
    services = [d for d in docs if d["kind"] == "Service"]
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    for workload in workloads:
        labels = pod_labels(workload)
        assert selects(workload["spec"]["selector"]["matchLabels"], labels), kn(workload)
        assert labels.get("app.kubernetes.io/name") == workload["metadata"]["name"], kn(workload)
        assert any(selects(s["spec"].get("selector"), labels) for s in services), (
            f"no Service selects {kn(workload)}")
        assert any(selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets), (
            f"no PodDisruptionBudget covers {kn(workload)}")
    for statefulset in (w for w in workloads if w["kind"] == "StatefulSet"):
        headless = [s for s in services if s["metadata"]["name"] == statefulset["spec"]["serviceName"]]
        assert headless and headless[0]["spec"].get("clusterIP") == "None", kn(statefulset)
        assert statefulset["spec"].get("volumeClaimTemplates"), kn(statefulset)
    for budget in budgets:
        assert any(selects(budget["spec"]["selector"]["matchLabels"], pod_labels(w))
                   for w in workloads), f"{kn(budget)} selects nothing"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_stateless_processes_autoscale(kustomization):
    docs = render(kustomization)
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    autoscalers = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    for hpa in autoscalers:
        assert hpa["apiVersion"] == "autoscaling/v2", kn(hpa)
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, kn(hpa)
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers}
    assert {"gateway", "telemetry-edge"} <= scaled


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_references_resolve(kustomization):
    """ConfigMaps and Secrets a pod names exist, except the Secrets an overlay must provide."""
    docs = render(kustomization)
    present = {(d["kind"], d["metadata"]["name"]) for d in docs}
    provided = set() if kustomization == "overlays/dev" else PROVIDED_SECRETS
    for workload in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
        spec = pod_spec(workload)
        refs = []
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    refs.append(("ConfigMap", source["configMapRef"]["name"]))
                if "secretRef" in source:
                    refs.append(("Secret", source["secretRef"]["name"]))
            for var in container.get("env", []):
                value_from = var.get("valueFrom") or {}
                if "configMapKeyRef" in value_from:
                    refs.append(("ConfigMap", value_from["configMapKeyRef"]["name"]))
                if "secretKeyRef" in value_from:
                    refs.append(("Secret", value_from["secretKeyRef"]["name"]))
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                refs.append(("ConfigMap", volume["configMap"]["name"]))
            if "secret" in volume:
                refs.append(("Secret", volume["secret"]["secretName"]))
        for kind, name in refs:
            if kind == "Secret" and name in provided:
                continue
            assert (kind, name) in present, f"{kn(workload)} names missing {kind} {name}"
    if kustomization != "overlays/dev":
        assert not any(d["kind"] == "Secret" for d in docs), "only the dev overlay ships Secrets"


def test_rendered_processes_match_compose():
    """k8s runs the processes compose runs, with the same commands and metrics ports."""
    deployments = app_deployments(render("base"))
    assert set(deployments) == set(app_services())
    for name, deployment in deployments.items():
        container = pod_spec(deployment)["containers"][0]
        compose_service = app_services()[name]
        assert container["command"] == compose_service["command"], name
        env = {var["name"]: var.get("value") for var in container.get("env", [])}
        assert env["METRICS_PORT"] == environment(compose_service)["METRICS_PORT"], name
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["metrics"] == int(env["METRICS_PORT"]), name
        if "grpc" in ports:
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe].get("grpc", {}).get("port") == ports["grpc"], (name, probe)
        else:
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe].get("httpGet", {}).get("path") == "/healthz", (name, probe)
