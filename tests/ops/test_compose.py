"""docker-compose.yml validates with Debian's docker-compose and .env.example, and is production-shaped."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.ops.support import tool_ensure
from tests.support.services import PYTHON, ROOT

SIGNALFLOW_SERVICES = {"web", "ingest", "bridge", "worker-gpu", "worker-cpu", "beat", "flower"}
INFRA_SERVICES = {"kafka", "timescaledb", "redis", "prometheus", "grafana"}
ONE_SHOT = {"init"}


def _compose_config(env_file: str) -> subprocess.CompletedProcess:
    compose = tool_ensure("docker-compose")
    # A clean environment: compose gives the shell's variables precedence over the env file.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "SIGNALFLOW_ENV_FILE": env_file}
    return subprocess.run(
        [compose, "--env-file", env_file, "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _mounts(service: dict) -> dict[str, str]:
    """target -> source of a service's volumes, in either of compose's output forms."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume.get("source", "")
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    return mounts


@pytest.fixture(scope="module")
def config() -> dict:
    result = _compose_config(".env.example")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_every_service_is_there(config):
    assert set(config["services"]) == SIGNALFLOW_SERVICES | INFRA_SERVICES | ONE_SHOT


def test_long_running_services_have_healthcheck_restart_policy_and_memory_limit(config):
    for name, service in config["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") in {"always", "unless-stopped"}, f"{name} restart policy"
        assert service.get("mem_limit"), f"{name} has no memory limit"


def test_processes_run_the_documented_commands(config):
    services = config["services"]
    assert services["web"]["command"][0] == "daphne"
    assert "signalflow.asgi:application" in services["web"]["command"]
    assert services["ingest"]["command"][2:] == ["run_ingest", "--metrics-port", "9100"]
    assert services["bridge"]["command"][2:] == ["run_bridge", "--metrics-port", "9100"]
    gpu = " ".join(services["worker-gpu"]["command"])
    assert "-Q gpu" in gpu
    assert "--pool solo" in gpu
    assert "-Q cpu" in " ".join(services["worker-cpu"]["command"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "celery_app", "beat"]
    assert services["flower"]["command"][3] == "flower"
    # Apps wait for healthy infrastructure and for the migrations.
    for name in SIGNALFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["timescaledb"]["condition"] == "service_healthy"
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["init"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "signalflow.settings.production"


def test_gpu_worker_reserves_a_gpu_and_workers_export_metrics(config):
    devices = config["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert devices[0]["driver"] == "nvidia"
    for name in ("worker-gpu", "worker-cpu"):
        env = config["services"][name]["environment"]
        assert env["SIGNALFLOW_WORKER_METRICS_PORT"] == "9100"
        assert env["PROMETHEUS_MULTIPROC_DIR"]


def test_infrastructure_images_and_grafana_provisioning(config):
    services = config["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    assert re.match(r"redis:7\b", services["redis"]["image"])
    grafana_mounts = _mounts(services["grafana"])
    assert grafana_mounts["/etc/grafana/provisioning"].endswith("grafana/provisioning")
    assert grafana_mounts["/var/lib/grafana/dashboards"].endswith("grafana/dashboards")
    prometheus_mounts = _mounts(services["prometheus"])
    assert prometheus_mounts["/etc/prometheus/prometheus.yml"].endswith("prometheus/prometheus.yml")


def test_only_the_web_reads_from_the_replica(config):
    services = config["services"]
    assert services["web"]["environment"]["DATABASE_REPLICA_READS"] == "true"
    for name in SIGNALFLOW_SERVICES - {"web"}:
        assert services[name]["environment"]["DATABASE_REPLICA_READS"] == "false", name


def test_missing_secret_is_refused(tmp_path):
    env_file = tmp_path / "incomplete.env"
    env_file.write_text(
        "\n".join(
            line
            for line in (ROOT / ".env.example").read_text().splitlines()
            if not line.startswith("DJANGO_SECRET_KEY=")
        )
    )
    result = _compose_config(str(env_file))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_env_example_documents_every_variable():
    compose_text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    documented = {line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line}
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", compose_text)) - {"SIGNALFLOW_ENV_FILE"}
    assert used - documented == set()
    # ... and every variable the settings read (scripts/env_example.py --check).
    check = subprocess.run(
        [PYTHON, "scripts/env_example.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    # Placeholders only: no real secret is committed.
    for key in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "GRAFANA_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        value = re.search(rf"^{key}=(.*)$", example, re.MULTILINE).group(1)
        assert "change-me" in value, key


def test_prometheus_config_is_valid_and_scrapes_every_process():
    tool_ensure("prometheus")
    check = subprocess.run(
        ["promtool", "check", "config", "prometheus/prometheus.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    assert {"web:8000", "ingest:9100", "bridge:9100", "worker-gpu:9100", "worker-cpu:9100"} <= targets
