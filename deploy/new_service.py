"""A new nameko service from ``services/_template``, wired into everything that runs it.

    make new-service NAME=alerts
    .venv/bin/python deploy/new_service.py NAME [--root DIR]

``NAME`` is the Python package (``services/NAME``), the nameko service name and the
database name: lowercase letters and digits, words joined by single underscores, 2 to 31
characters, starting with a letter, not a Python keyword. The *process* name used by
docker-compose, Kubernetes, Prometheus and ``make up`` is ``NAME`` with ``-`` for ``_``
(Kubernetes names are DNS labels, which forbid underscores): ``loa_phuong`` runs as
``loa-phuong``.

What it does, in the repo at ``--root`` (default: this checkout):

- copies ``services/_template`` to ``services/NAME`` (without its ``deploy/`` pieces),
  replacing the placeholder names;
- writes ``deploy/config/NAME.yaml`` and ``k8s/base/apps/PROCESS.yaml``;
- inserts, as text (the files are hand-written; their comments and layout stay), the compose
  service after the last TinXã process of ``docker-compose.yml``, a scrape job in
  ``deploy/prometheus/prometheus.yml``, the manifest in ``k8s/base/kustomization.yaml``,
  the process in ``deploy/local/env.sh`` (before the gateway, which ``make up`` starts last)
  and in the ``PROCESSES`` of ``tests/deploy/test_manifests.py``;
- picks the metrics port: one past the highest offset from ``TINXA_METRICS_BASE`` (9100) that
  env.sh, compose, Prometheus, k8s or a nameko config already uses.

Every edit is computed and checked (each file still parses, and holds exactly what it held
plus the new service) before anything is written: a refusal or failed check changes nothing.
A bad or taken name exits with status 2, a file it cannot wire with status 1.
"""
import argparse
import ast
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path("services") / "_template"
NAME_RULE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_NAME = 31
# the placeholders of services/_template (see its deploy/README.md)
PROCESS_TOKEN, UPPER_TOKEN, NAME_TOKEN, CLASS_TOKEN, PORT_TOKEN, OFFSET_TOKEN = (
    "process-template", "_TEMPLATE", "_template", "Template", "9199", "OFFSET")
APP_ANCHOR = "<<: *tinxa-service"
DEFAULT_METRICS_BASE = 9100
RESERVED = {"kustomization": "k8s/base/apps/kustomization.yaml would read as a kustomization"}


class Refused(Exception):
    """A name that cannot be used (exit status 2)."""


class CannotWire(Exception):
    """A deployment file the generator cannot edit safely (exit status 1)."""


class Names:
    def __init__(self, name, port, offset):
        self.name = name
        self.process = name.replace("_", "-")
        self.upper = name.upper()
        self.camel = "".join(part.capitalize() for part in name.split("_"))
        self.port = port
        self.offset = offset

    def fill(self, text, offset=False):
        pairs = [(PROCESS_TOKEN, self.process), (UPPER_TOKEN, self.upper), (NAME_TOKEN, self.name),
                 (CLASS_TOKEN, self.camel), (PORT_TOKEN, str(self.port))]
        if offset:
            pairs.append((OFFSET_TOKEN, str(self.offset)))
        for token, value in pairs:
            text = text.replace(token, value)
        for token, value in pairs:
            # a name that contains a placeholder ("templates") is not a leftover
            if token in text and not any(token in v for _, v in pairs):
                raise CannotWire(f"placeholder {token!r} left in the generated text")
        return text


# ---------------------------------------------------------------------------- the name

def check_name(name):
    if len(name) < 2 or len(name) > MAX_NAME or not NAME_RULE.match(name):
        raise Refused(f"{name!r} is not a service name: use 2 to {MAX_NAME} lowercase letters and digits, "
                      "starting with a letter, words joined by single underscores (e.g. alerts, loa_phuong)")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise Refused(f"{name!r} is a Python keyword; it cannot name a package")
    if name in RESERVED:
        raise Refused(f"{name!r} is reserved: {RESERVED[name]}")


def taken_by(root, names, state):
    """Why ``names`` is already used in the repo at ``root``, or None."""
    if (root / "services" / names.name).exists():
        return f"services/{names.name} already exists"
    for what, used in (("docker-compose.yml service", state["compose"]["services"]),
                       ("deploy/local/env.sh process", state["env_names"]),
                       ("Prometheus job", state["prometheus_jobs"])):
        if names.process in used:
            return f"{names.process!r} is already a {what}"
    for path in (f"deploy/config/{names.name}.yaml", f"k8s/base/apps/{names.process}.yaml"):
        if (root / path).exists():
            return f"{path} already exists"
    return None


# ---------------------------------------------------------------------------- reading the repo

ENV_ENTRY = re.compile(r'^\s*"([^|"]+)\|(\d+)\|')


def read_state(root):
    def text(path):
        try:
            return (root / path).read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise CannotWire(f"{path} is missing under {root}") from err

    state = {"compose_text": text("docker-compose.yml"), "prometheus_text": text("deploy/prometheus/prometheus.yml"),
             "kustomization_text": text("k8s/base/kustomization.yaml"), "env_text": text("deploy/local/env.sh")}
    state["compose"] = yaml.safe_load(state["compose_text"])
    state["prometheus"] = yaml.safe_load(state["prometheus_text"])
    state["kustomization"] = yaml.safe_load(state["kustomization_text"])
    state["env_entries"] = [(m.group(1), int(m.group(2))) for m in map(ENV_ENTRY.match, state["env_text"].splitlines())
                            if m]
    state["env_names"] = {name for name, _ in state["env_entries"]}
    state["prometheus_jobs"] = {job["job_name"] for job in state["prometheus"]["scrape_configs"]}
    base = re.search(r"TINXA_METRICS_BASE:-(\d+)", state["env_text"])
    state["metrics_base"] = int(base.group(1)) if base else DEFAULT_METRICS_BASE
    return state


def used_metrics_ports(root, state):
    ports = set()
    for service in state["compose"]["services"].values():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env if "=" in item)
        if str(env.get("METRICS_PORT", "")).isdigit():
            ports.add(int(env["METRICS_PORT"]))
    for job in state["prometheus"]["scrape_configs"]:
        for static in job.get("static_configs", []):
            ports.update(int(t.rsplit(":", 1)[1]) for t in static.get("targets", []) if t.rsplit(":", 1)[-1].isdigit())
    for path in sorted((root / "k8s" / "base" / "apps").glob("*.yaml")):
        ports.update(int(p) for p in re.findall(r'name: METRICS_PORT\s+value: "(\d+)"', path.read_text()))
    for path in sorted((root / "deploy" / "config").glob("*.yaml")):
        ports.update(int(p) for p in re.findall(r"\$\{METRICS_PORT:(\d+)\}", path.read_text()))
    return ports


def next_offset(root, state):
    """One past the highest offset in use: a retired service's port is not handed out again."""
    base = state["metrics_base"]
    used = {offset for _, offset in state["env_entries"]}
    used |= {port - base for port in used_metrics_ports(root, state) if base < port < base + 1000}
    return max(used, default=0) + 1


# ---------------------------------------------------------------------------- text edits

def _blocks(lines, start, end, header):
    """(first line, last non-blank non-comment line) of each block whose header matches, in [start, end)."""
    heads = [i for i in range(start, end) if header.match(lines[i])]
    blocks = []
    for n, head in enumerate(heads):
        stop = heads[n + 1] if n + 1 < len(heads) else end
        last = max(i for i in range(head, stop) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
        blocks.append((head, last))
    return blocks


def _insert(lines, after, fragment, blank_before=True):
    added = (["\n"] if blank_before else []) + fragment.splitlines(keepends=True)
    return "".join(lines[:after + 1] + added + lines[after + 1:])


def add_compose_service(state, names, fragment):
    lines = state["compose_text"].splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == "services:") + 1
    except StopIteration:
        raise CannotWire("docker-compose.yml has no top-level services:") from None
    end = next((i for i in range(start, len(lines)) if re.match(r"^[^\s#]", lines[i])), len(lines))
    apps = [(head, last) for head, last in _blocks(lines, start, end, re.compile(r"^  [^\s#][^:]*:\s*(#.*)?$"))
            if any(APP_ANCHOR in line for line in lines[head:last + 1])]
    if not apps:
        raise CannotWire(f"docker-compose.yml has no service built on {APP_ANCHOR!r} to insert after")
    text = _insert(lines, apps[-1][1], fragment)
    new = yaml.safe_load(text)
    old = state["compose"]
    added = new["services"].get(names.process) or {}
    if ({k: v for k, v in new["services"].items() if k != names.process} != old["services"]
            or {k: v for k, v in new.items() if k != "services"} != {k: v for k, v in old.items() if k != "services"}
            or added.get("image") != old["services"][_first_app(old)].get("image")
            or str((added.get("environment") or {}).get("METRICS_PORT")) != str(names.port)):
        raise CannotWire("docker-compose.yml did not read back as before plus the new service")
    return text


def _first_app(compose):
    return next(name for name, svc in compose["services"].items() if svc.get("image", "").startswith("tinxa"))


def add_prometheus_job(state, names, fragment):
    lines = state["prometheus_text"].splitlines(keepends=True)
    jobs = _blocks(lines, 0, len(lines), re.compile(r"^\s*- job_name:\s*\S+"))
    apps = set(state["compose"]["services"]) - {"rabbitmq", "mongo", "prometheus", "grafana"}
    ours = [(head, last) for head, last in jobs if lines[head].split("job_name:", 1)[1].strip().strip("\"'") in apps]
    if not ours:
        raise CannotWire("deploy/prometheus/prometheus.yml has no job of a TinXã process to insert after")
    text = _insert(lines, ours[-1][1], fragment)
    new = yaml.safe_load(text)
    before = state["prometheus"]["scrape_configs"]
    kept = [job for job in new["scrape_configs"] if job["job_name"] != names.process]
    wanted = {"job_name": names.process, "static_configs": [{"targets": [f"{names.process}:{names.port}"]}]}
    if kept != before or wanted not in new["scrape_configs"] or len(new["scrape_configs"]) != len(before) + 1:
        raise CannotWire("prometheus.yml did not read back as before plus the new job")
    return text


def add_kustomization_resource(state, names):
    lines = state["kustomization_text"].splitlines(keepends=True)
    entries = [i for i, line in enumerate(lines) if re.match(r"^\s*- apps/\S+\.yaml\s*$", line)]
    if not entries:
        raise CannotWire("k8s/base/kustomization.yaml lists no apps/*.yaml resource to insert after")
    indent = lines[entries[-1]].split("-", 1)[0]
    text = _insert(lines, entries[-1], f"{indent}- apps/{names.process}.yaml\n", blank_before=False)
    new = yaml.safe_load(text)
    if sorted(new["resources"]) != sorted(state["kustomization"]["resources"] + [f"apps/{names.process}.yaml"]):
        raise CannotWire("k8s/base/kustomization.yaml did not read back as before plus the new manifest")
    return text


def add_env_process(state, names, fragment):
    lines = state["env_text"].splitlines(keepends=True)
    try:
        opening = next(i for i, line in enumerate(lines) if line.strip() == "PROCESSES=(")
        closing = next(i for i in range(opening, len(lines)) if lines[i].strip() == ")")
    except StopIteration:
        raise CannotWire("deploy/local/env.sh has no PROCESSES=( … ) list") from None
    gateway = [i for i in range(opening, closing) if lines[i].lstrip().startswith('"gateway|')]
    # the gateway, which people reach, starts last
    position = gateway[0] if gateway else closing
    text = "".join(lines[:position] + fragment.splitlines(keepends=True) + lines[position:])
    entries = [(m.group(1), int(m.group(2))) for m in map(ENV_ENTRY.match, text.splitlines()) if m]
    if sorted(entries) != sorted(state["env_entries"] + [(names.process, names.offset)]):
        raise CannotWire("deploy/local/env.sh did not read back as before plus the new process")
    return text


def add_manifest_test_process(text, names):
    """The new process in ``PROCESSES`` of tests/deploy/test_manifests.py, or None if that
    one-line set is not there (then the caller says to add it by hand)."""
    match = re.search(r"^PROCESSES = (\{[^\n}]*\})[ \t]*$", text, re.MULTILINE)
    if not match:
        return None
    old = ast.literal_eval(match.group(1))
    new_literal = match.group(1)[:-1].rstrip() + f', "{names.process}"}}'
    if ast.literal_eval(new_literal) != old | {names.process}:
        return None
    return text[:match.start(1)] + new_literal + text[match.end(1):]


def bash_reads_processes(root, env_text, names):
    """``bash`` itself reads the new env.sh: the list make up iterates over has the new entry."""
    if shutil.which("bash") is None:
        return
    script = 'source /dev/stdin; for e in "${PROCESSES[@]}"; do echo "${e%%|*}"; done'
    result = subprocess.run(["bash", "-c", script], input=env_text, capture_output=True, text=True, cwd=root,
                            timeout=30, check=False)
    if result.returncode != 0 or names.process not in result.stdout.split():
        raise CannotWire(f"bash cannot read the new deploy/local/env.sh: {result.stderr.strip()}")


# ---------------------------------------------------------------------------- generating

def service_files(root, names):
    """{relative path: text} of services/NAME from the template (its deploy/ pieces stay behind)."""
    source = root / TEMPLATE
    if not source.is_dir():
        raise CannotWire(f"{TEMPLATE} is missing under {root}")
    files = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if (path.is_dir() or relative.parts[0] == "deploy" or "__pycache__" in relative.parts
                or path.suffix in (".pyc", ".pyo") or ".pytest_cache" in relative.parts):
            continue
        files[Path("services") / names.name / relative] = names.fill(path.read_text(encoding="utf-8"))
    return files


def plan(root, name):
    """Every file to write, {relative path: text}, after all checks; nothing written yet."""
    check_name(name)
    state = read_state(root)
    offset = next_offset(root, state)
    names = Names(name, state["metrics_base"] + offset, offset)
    reason = taken_by(root, names, state)
    if reason:
        raise Refused(f"{reason}; choose another name (running this twice for one name is refused)")

    def piece(file, offset=False):
        return names.fill((root / TEMPLATE / "deploy" / file).read_text(encoding="utf-8"), offset=offset)

    writes = service_files(root, names)
    writes[Path("deploy/config") / f"{names.name}.yaml"] = piece("config.yaml")
    writes[Path("k8s/base/apps") / f"{names.process}.yaml"] = piece("k8s.yaml")
    writes[Path("docker-compose.yml")] = add_compose_service(state, names, piece("compose.yml.in"))
    writes[Path("deploy/prometheus/prometheus.yml")] = add_prometheus_job(state, names, piece("prometheus.yml.in"))
    writes[Path("k8s/base/kustomization.yaml")] = add_kustomization_resource(state, names)
    env_text = add_env_process(state, names, piece("env.sh.in", offset=True))
    bash_reads_processes(root, env_text, names)
    writes[Path("deploy/local/env.sh")] = env_text
    for path, text in writes.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")
        elif path.suffix in (".yaml", ".yml"):
            list(yaml.safe_load_all(text))
    manual = []
    manifests = root / "tests" / "deploy" / "test_manifests.py"
    edited = add_manifest_test_process(manifests.read_text(encoding="utf-8"), names) if manifests.exists() else None
    if edited is None:
        manual.append(f'add "{names.process}" to PROCESSES in tests/deploy/test_manifests.py')
    else:
        writes[Path("tests/deploy/test_manifests.py")] = edited
    testing = root / "shared" / "testing.py"
    block = re.search(r"^METRICS_BLOCK = (\d+)", testing.read_text(encoding="utf-8"), re.MULTILINE) \
        if testing.exists() else None
    if block and offset >= int(block.group(1)):
        manual.append(f"raise METRICS_BLOCK in shared/testing.py to at least {offset + 1} (the end-to-end tests "
                      f"reserve metrics offsets 1..METRICS_BLOCK-1; {names.process} uses {offset})")
    return names, writes, manual


def write(root, writes):
    for path, text in writes.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def report(names, created, changed, manual):
    lines = [(f"New service {names.name!r} (class {names.camel}Service, process {names.process!r}, "
              f"metrics port {names.port} = TINXA_METRICS_BASE + {names.offset})."), "", "Created:"]
    lines += [f"  {p}" for p in created] + ["", "Changed (one entry added to each):"] + [f"  {p}" for p in changed]
    steps = [
        f"run its tests: .venv/bin/python -m pytest services/{names.name} tests/deploy -q",
        (f"write services/{names.name}/API.md (what it keeps, who may do what, its RPCs) and rename the "
         "generated 'entry' to what the service keeps (domain.py, schemas.py, repository.py, tests/)"),
        ("if it publishes events: a schema per event in shared/events.py, an entry in docs/events.md "
         "(payload, producer, consumers), and publish through the repository's outbox "
         f"(shared.events.outgoing('{names.name}', …) passed to _insert_with_events/_update_with_events); "
         "handle other services' events with shared.handlers (idempotent, dead-lettered)"),
        (f"if people reach it: an RpcProxy('{names.name}') and HTTP routes in services/gateway "
         "(with the OpenAPI document)"),
        (f"if it needs a secret: read it from the environment in deploy/config/{names.name}.yaml, give compose a "
         f"marked dev default, and name the Secret in k8s/base/apps/{names.process}.yaml, k8s/README.md, the dev "
         "overlay and PROVIDED_SECRETS in tests/deploy/test_manifests.py"),
        "add a row for it to the Services table of README.md",
        *manual,
    ]
    lines += ["", "Next:"] + [f"  {n}. {step}" for n, step in enumerate(steps, 1)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="new_service.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", metavar="NAME", help="the service's Python name, e.g. alerts or loa_phuong")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repo to add it to (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        names, writes, manual = plan(root, args.name)
    except Refused as err:
        print(f"new_service: refused: {err}", file=sys.stderr)
        return 2
    except CannotWire as err:
        print(f"new_service: nothing written: {err}", file=sys.stderr)
        return 1
    created = sorted(str(p) for p in writes if not (root / p).exists())
    changed = sorted(str(p) for p in writes if (root / p).exists())
    write(root, writes)
    print(report(names, created, changed, manual))
    return 0


if __name__ == "__main__":
    sys.exit(main())
