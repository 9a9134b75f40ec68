"""The hub and the agent started as a user starts them (``python -m
services.sync.hub`` / ``services.sync.agent`` with the repository's config
files), on free ports and the test's databases, their output in log files."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from shared.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[3]


class Process:
    module = None

    def __init__(self, log_path, env):
        self.log_path = log_path
        self.metrics_port = free_port()
        self.env = dict(os.environ, METRICS_PORT=str(self.metrics_port), LOG_LEVEL="INFO",
                        **{name: str(value) for name, value in env.items()})
        self.process = None

    def start(self, wait=True):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", self.module], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        if wait:
            wait_until(self.healthy, timeout=20, message=f"{self.module} to be healthy:\n{self.log()}")
        return self

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def http(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def healthy(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.module} exited with {self.process.returncode}:\n{self.log()}")
        try:
            return self.http("/healthz")[0] == 200
        except OSError:
            return False

    def metric(self, line_start):
        """The value of the first /metrics line starting with ``line_start``, or None."""
        lines = [line for line in self.http("/metrics")[1].splitlines() if line.startswith(line_start)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def kill9(self):
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self):
        """SIGTERM without waiting (``stop`` waits)."""
        if self.running():
            self.process.terminate()

    def stop(self, timeout=15):
        """SIGTERM; returns the exit code (killed if it does not end within ``timeout``)."""
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.process.returncode if self.process else None


class HubProcess(Process):
    module = "services.sync.hub"

    def __init__(self, log_path, mongo_uri, database, port=None, **env):
        self.port = port or free_port()
        self.target = f"127.0.0.1:{self.port}"
        super().__init__(log_path, dict(MONGO_URI=mongo_uri, SYNC_HUB_DATABASE=database, SYNC_GRPC_HOST="127.0.0.1",
                                        SYNC_GRPC_PORT=self.port, GRPC_GRACE_SECONDS=1, **env))

    def admin(self, *args, check=True):
        """``python -m services.sync.hub_admin ARGS`` on the hub's database."""
        done = subprocess.run([sys.executable, "-m", "services.sync.hub_admin", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"hub_admin {args} failed ({done.returncode}):\n{done.stderr}")
        return done

    def admin_json(self, *args):
        return json.loads(self.admin(*args).stdout)


class AgentProcess(Process):
    module = "services.sync.agent"

    def __init__(self, log_path, mongo_uri, database, hub_target, commune_id, token, **env):
        super().__init__(log_path, dict(MONGO_URI=mongo_uri, SYNC_DATABASE=database, HUB_TARGET=hub_target,
                                        COMMUNE_ID=commune_id, SYNC_TOKEN=token, **env))
