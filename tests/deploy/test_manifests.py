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
KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/district", "overlays/province"]
# Overlays whose broker and database are clustered (k8s/components/clustered).
CLUSTERED = ["overlays/district", "overlays/province"]

# The oldest Kubernetes a district cluster is expected to run.
K8S_VERSION = "1.31"
NAMESPACE = "tinxa"
APP_UID = 10001
APP_IMAGE = "tinxa"
# Compose services that are not TinXã processes.
INFRA = {"rabbitmq", "mongo", "prometheus", "grafana"}
# The processes that must exist in both compose and k8s (later services add themselves).
PROCESSES = {"gateway", "tasks", "content", "telemetry", "telemetry-edge", "broadcast", "training", "sync", "sync-agent", "sync-hub", "integration"}
# Secrets the base references and an overlay (or the operator) must provide.
PROVIDED_SECRETS = {"tinxa-gateway", "tinxa-training", "tinxa-sync", "tinxa-rabbitmq",
                    "tinxa-rabbitmq-erlang-cookie", "tinxa-mongo"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                        "StorageClass", "CustomResourceDefinition", "PriorityClass"}


# ---------------------------------------------------------------------------- loading

@functools.lru_cache(maxsize=None)
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def app_services():
    """The TinXã processes compose always runs (not infrastructure, not optional profiles)."""
    return {name: svc for name, svc in compose()["services"].items()
            if name not in INFRA and not svc.get("profiles")}


def profile_services(profile):
    return {name: svc for name, svc in compose()["services"].items()
            if profile in (svc.get("profiles") or [])}


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

@pytest.mark.parametrize("profiles", [[], ["simulator"]], ids=["default", "simulator"])
def test_compose_file_renders(profiles):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    options = [option for profile in profiles for option in ("--profile", profile)]
    result = subprocess.run([binary, "-f", str(COMPOSE_FILE), *options, "config", "-q"], cwd=ROOT,
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
    command = app_services()[name]["command"]
    module = command[command.index("-m") + 1] if "-m" in command else command[-1]
    package = module.split(".")[1]
    if not (ROOT / "services" / package / "__init__.py").is_file():
        pytest.skip(f"services/{package} is not written yet")
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


# ---------------------------------------------------------------------------- compose: simulator

def test_compose_simulator_profile_provisions_then_runs():
    services = profile_services("simulator")
    assert {"simulator", "simulator-provision"} <= set(services)
    for name, service in services.items():
        assert service["profiles"] == ["simulator"], name
        assert service.get("image") == f"{APP_IMAGE}:latest", name
        assert str(service.get("user", "")).split(":")[0] == str(APP_UID), name
        assert service.get("read_only") is True, name
        assert "ALL" in service.get("cap_drop", []), name
        assert (service.get("healthcheck") or {}).get("test"), name
        assert "AMQP_URI" in environment(service), name
    provision = " ".join(services["simulator-provision"]["command"])
    assert "deploy/local/seed.py" in provision  # the registry and its codes, over RPC
    assert "services.telemetry.simulator provision" in provision
    assert "--target telemetry-edge:50051" in provision
    run = services["simulator"]["command"]
    assert run[:4] == ["python", "-m", "services.telemetry.simulator", "run"]
    assert run[run.index("--target") + 1] == "telemetry-edge:50051"
    depends = services["simulator"]["depends_on"]
    assert depends["simulator-provision"]["condition"] == "service_completed_successfully"
    # the credentials the provision step writes are what the simulator reads
    assert ("/tmp/sim/credentials.json" in provision
            and run[run.index("--credentials") + 1] == "/tmp/sim/credentials.json")
    shared = {tuple(v.split(":")[:2]) for v in services["simulator"]["volumes"]}
    assert shared == {tuple(v.split(":")[:2]) for v in services["simulator-provision"]["volumes"]}
    assert not set(services) & set(app_services()), "profile services are not always-on processes"


def test_rabbitmq_prometheus_plugin_is_enabled_and_scraped():
    for path in (ROOT / "deploy" / "compose" / "rabbitmq" / "enabled_plugins",
                 K8S / "base" / "infra" / "rabbitmq" / "enabled_plugins"):
        assert "rabbitmq_prometheus" in path.read_text(), path
    assert prometheus_targets().get("rabbitmq:15692") == "rabbitmq"


# ---------------------------------------------------------------------------- k8s: network policies

def selector_matches(selector, labels):
    """A LabelSelector (matchLabels and matchExpressions) against a pod's labels; {} matches all."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def network_policies(docs):
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


def pod_workloads(docs):
    return [d for d in docs if d["kind"] in {"Deployment", "StatefulSet", "Job"}]


def named_ports(workload):
    ports = {}
    for container in pod_spec(workload)["containers"]:
        for port in container.get("ports", []):
            ports[port.get("name")] = port["containerPort"]
    return ports


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_namespace_denies_ingress_by_default(kustomization):
    deny = [p for p in network_policies(render(kustomization))
            if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"].get("policyTypes", [])
            and not p["spec"].get("ingress")]
    assert deny, f"{kustomization} has no default-deny ingress NetworkPolicy"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_pods_have_an_allowing_policy(kustomization):
    """Under default deny, every Deployment and StatefulSet pod is opened by some policy."""
    docs = render(kustomization)
    allowing = [p for p in network_policies(docs) if p["spec"].get("ingress")]
    for workload in (d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}):
        labels = pod_labels(workload)
        assert any(selector_matches(p["spec"]["podSelector"], labels) for p in allowing), (
            f"{kustomization}: no NetworkPolicy allows ingress to {kn(workload)}")


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_policies_open_to_everyone_only_the_public_ports(kustomization):
    """Only the gateway's HTTP, DeviceLink, MQTT (and the province's hub) accept any source."""
    docs = render(kustomization)
    public = {("gateway", 8000), ("telemetry-edge", 50051), ("rabbitmq", 1883)}
    if kustomization == "overlays/province":
        public.add(("sync-hub", 50061))
    public = {(name, port) for name, port in public
              if any(w["metadata"]["name"] == name for w in pod_workloads(docs))}
    opened = set()
    for policy in network_policies(docs):
        for rule in policy["spec"].get("ingress") or []:
            if rule.get("from"):
                continue
            assert rule.get("ports"), f"{kn(policy)} opens every port to everyone"
            for workload in pod_workloads(docs):
                if selector_matches(policy["spec"]["podSelector"], pod_labels(workload)):
                    ports = named_ports(workload)
                    for port in rule["ports"]:
                        number = ports.get(port["port"], port["port"])
                        opened.add((workload["metadata"]["name"], number))
    assert opened == public, kustomization


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_database_and_broker_are_reached_by_tinxa_pods_only(kustomization):
    docs = render(kustomization)
    workloads = {w["metadata"]["name"]: w for w in pod_workloads(docs)}
    if "mongo" not in workloads:
        pytest.skip("no database in this kustomization")
    apps = [w for name, w in workloads.items() if name in PROCESSES]
    broker_labels = pod_labels(workloads["rabbitmq"])
    mongo_rules = [rule for p in network_policies(docs)
                   if selector_matches(p["spec"]["podSelector"], pod_labels(workloads["mongo"]))
                   for rule in p["spec"].get("ingress") or []
                   if any(port["port"] in (27017, "mongo") for port in rule.get("ports", []))]
    assert mongo_rules
    for rule in mongo_rules:
        assert rule.get("from"), "MongoDB is open to everyone"
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}, "MongoDB is open beyond the namespace's pods"
            assert peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/part-of") == "tinxa"
            assert not selector_matches(peer["podSelector"], broker_labels), "the broker may reach MongoDB"
        assert [p["port"] for p in rule["ports"]] == [27017]
    for app in apps:
        assert any(selector_matches(peer["podSelector"], pod_labels(app))
                   for rule in mongo_rules for peer in rule["from"]), f"{kn(app)} cannot reach MongoDB"
    amqp_rules = [rule for p in network_policies(docs)
                  if selector_matches(p["spec"]["podSelector"], broker_labels)
                  for rule in p["spec"].get("ingress") or []
                  if any(port["port"] in (5672, "amqp") for port in rule.get("ports", []))]
    assert amqp_rules and all(rule.get("from") for rule in amqp_rules), "AMQP is open to everyone"
    plugin_namespaces = {"tinxa.vn/plugins": "allowed"}
    for rule in amqp_rules:
        for peer in rule["from"]:
            # the namespace's pods, or plug-ins' namespaces the operator labels (their broker
            # users keep them to their commune: services/integration/API.md)
            if set(peer) == {"namespaceSelector"}:
                assert peer["namespaceSelector"] == {"matchLabels": plugin_namespaces}, "AMQP is open to any namespace"
                assert [p["port"] for p in rule["ports"]] == [5672], "plug-ins' namespaces reach more than AMQP"
            else:
                assert set(peer) == {"podSelector"}, "AMQP is open beyond the namespace's pods"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_metrics_are_open_to_the_monitoring_namespace(kustomization):
    docs = render(kustomization)
    rules = [rule for p in network_policies(docs) for rule in p["spec"].get("ingress") or []
             if any(port["port"] == "metrics" for port in rule.get("ports", []))]
    assert rules
    for rule in rules:
        for peer in rule["from"]:
            assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    for workload in (d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}):
        if "metrics" in named_ports(workload) or "prometheus" in named_ports(workload):
            assert any(selector_matches(p["spec"]["podSelector"], pod_labels(workload))
                       and any(port["port"] in ("metrics", "prometheus") for rule in p["spec"].get("ingress") or []
                               for port in rule.get("ports", []))
                       for p in network_policies(docs)), f"Prometheus cannot scrape {kn(workload)}"


# ---------------------------------------------------------------------------- k8s: clustering

def find(docs, kind, name):
    """The object named ``name`` (a generated ConfigMap's name has a hash suffix)."""
    matches = [d for d in docs if d["kind"] == kind and (
        d["metadata"]["name"] == name
        or re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", d["metadata"]["name"]))]
    assert matches, f"no {kind}/{name}"
    return matches[0]


@pytest.mark.parametrize("kustomization", CLUSTERED)
def test_rendered_broker_and_database_have_three_members(kustomization):
    docs = render(kustomization)
    for name in ("rabbitmq", "mongo"):
        statefulset = find(docs, "StatefulSet", name)
        assert statefulset["spec"]["replicas"] == 3, kn(statefulset)
        budget = next(b for b in docs if b["kind"] == "PodDisruptionBudget"
                      and selects(b["spec"]["selector"]["matchLabels"], pod_labels(statefulset)))
        assert budget["spec"].get("maxUnavailable") == 1, "a budget that keeps the majority"


@pytest.mark.parametrize("kustomization", CLUSTERED)
def test_rendered_rabbitmq_forms_a_cluster_through_the_kubernetes_api(kustomization):
    docs = render(kustomization)
    statefulset = find(docs, "StatefulSet", "rabbitmq")
    spec = pod_spec(statefulset)
    account = spec.get("serviceAccountName")
    assert account and spec.get("automountServiceAccountToken") is True
    find(docs, "ServiceAccount", account)
    bindings = [b for b in docs if b["kind"] == "RoleBinding"
                and any(s["kind"] == "ServiceAccount" and s["name"] == account for s in b["subjects"])]
    assert bindings
    role = find(docs, "Role", bindings[0]["roleRef"]["name"])
    assert any("endpoints" in rule["resources"] and "get" in rule["verbs"] for rule in role["rules"])
    config = find(docs, "ConfigMap", "rabbitmq-cluster-config")["data"]["cluster.conf"]
    assert re.search(r"^cluster_formation\.peer_discovery_backend\s*=\s*(k8s|rabbit_peer_discovery_k8s)\s*$",
                     config, re.M)
    service = re.search(r"^cluster_formation\.k8s\.service_name\s*=\s*(\S+)", config, re.M).group(1)
    assert service == statefulset["spec"]["serviceName"]
    plugins = find(docs, "ConfigMap", "rabbitmq-config")["data"]["enabled_plugins"]
    assert "rabbitmq_peer_discovery_k8s" in plugins
    secrets = [v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v]
    assert "tinxa-rabbitmq-erlang-cookie" in secrets
    env = {var["name"]: var.get("value") for var in spec["containers"][0].get("env", [])}
    assert env.get("RABBITMQ_USE_LONGNAME") == "true"
    assert env["RABBITMQ_NODENAME"].endswith(f".{service}.$(MY_POD_NAMESPACE).svc.cluster.local")


@pytest.mark.parametrize("kustomization", CLUSTERED)
def test_rendered_rabbitmq_definitions_make_queues_quorum(kustomization):
    import json
    docs = render(kustomization)
    data = find(docs, "ConfigMap", "rabbitmq-cluster-config")["data"]
    definitions = json.loads(data["definitions.json"])
    vhosts = {v["name"]: v for v in definitions["vhosts"]}
    assert vhosts["/"]["default_queue_type"] == "quorum"
    assert any(p["vhost"] == "/" and "delivery-limit" in p["definition"] for p in definitions["policies"])
    path = re.search(r"^(?:load_definitions|definitions\.local\.path)\s*=\s*(\S+)", data["cluster.conf"], re.M)
    assert path, "the definitions are not loaded at boot"
    container = pod_spec(find(docs, "StatefulSet", "rabbitmq"))["containers"][0]
    assert any(m["mountPath"] == path.group(1) for m in container["volumeMounts"])


@pytest.mark.parametrize("kustomization", CLUSTERED)
def test_rendered_mongo_is_an_authenticated_replica_set_initiated_once(kustomization):
    docs = render(kustomization)
    container = pod_spec(find(docs, "StatefulSet", "mongo"))["containers"][0]
    args = container["args"]
    assert args[args.index("--replSet") + 1] == "rs0"
    assert "--keyFile" in args
    members = [f"mongo-{n}.mongo:27017" for n in range(3)]
    job = find(docs, "Job", "mongo-init")
    script = " ".join(pod_spec(job)["containers"][0]["command"])
    assert "rs.initiate" in script and all(member in script for member in members)
    uris = [find(docs, "ConfigMap", "tinxa-config")["data"]["MONGO_URI"]]
    for name, deployment in app_deployments(docs).items():
        env = {var["name"]: var.get("value") for var in pod_spec(deployment)["containers"][0].get("env", [])}
        assert "MONGO_URI" in env, f"{name} takes MONGO_URI without credentials from the ConfigMap"
        uris.append(env["MONGO_URI"])
    for uri in uris:
        assert "replicaSet=rs0" in uri and all(member in uri for member in members), uri


# ---------------------------------------------------------------------------- k8s: scale

def autoscaler(docs, name):
    return next((d for d in docs if d["kind"] == "HorizontalPodAutoscaler"
                 and d["spec"]["scaleTargetRef"]["name"] == name), None)


@pytest.mark.parametrize("name", ["gateway", "telemetry-edge"])
def test_province_runs_more_replicas_than_a_district(name):
    district, province = autoscaler(render("overlays/district"), name), autoscaler(render("overlays/province"), name)
    assert province["spec"]["minReplicas"] > district["spec"]["minReplicas"]
    assert province["spec"]["maxReplicas"] > district["spec"]["maxReplicas"]


def test_province_scales_its_hub():
    docs = render("overlays/province")
    hub = autoscaler(docs, "sync-hub")
    assert hub and hub["spec"]["minReplicas"] >= 2
    assert "replicas" not in find(docs, "Deployment", "sync-hub")["spec"], "the HPA owns the count"
    budget = find(docs, "PodDisruptionBudget", "sync-hub")
    assert budget["spec"].get("minAvailable") == 1


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_sync_agent_is_one_per_commune(kustomization):
    docs = render(kustomization)
    assert autoscaler(docs, "sync-agent") is None
    assert find(docs, "Deployment", "sync-agent")["spec"].get("replicas") == 1
