"""The docker compose deployment is well formed (no Docker engine runs here): every service is built
or pulled, waits for what it needs to be healthy, is health-checked, and is configured by MXHUB_* settings
that exist; the files it mounts exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mxhub.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose" / "docker-compose.yml"
ONE_SHOT = {"register", "hub-key"}


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_services_and_roles():
    services = load()["services"]
    assert {
        "hub",
        "hub-db",
        "ispyb-db",
        "site-dls",
        "native-db",
        "site-esrf",
        "lims",
        "lims-db",
        "register",
    } <= set(services)
    assert services["site-dls"]["command"][:4] == ["site", "serve", "--backend", "ispyb"]
    assert services["site-esrf"]["command"][:4] == ["site", "serve", "--backend", "native"]
    assert services["hub"]["command"][:2] == ["hub", "serve"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name


def test_dependencies_exist_and_wait_for_health():
    services = load()["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            want = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond["condition"] == want, (name, dep)
            if dep not in ONE_SHOT:
                assert "healthcheck" in services[dep], dep
        if name not in ONE_SHOT:
            assert "healthcheck" in svc, name


def test_settings_are_real_options_and_mounts_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, svc in load()["services"].items():
        for key in svc.get("environment") or {}:
            if key.startswith("MXHUB_"):
                assert key in readme, (name, key)
        for volume in svc.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).resolve().exists(), (name, source)
    build = load()["x-mxhub"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).exists()


def test_commands_run_by_services_exist():
    services = load()["services"]
    for name, svc in services.items():
        words = svc.get("command") or []
        if svc.get("entrypoint"):
            words = re.findall(r"mxhub ([a-z-]+ [a-z-]+)", " ".join(svc["entrypoint"]))
            words = [w for pair in words for w in pair.split()]
        group = main
        for word in words[:2]:
            if word.startswith("-"):
                break
            assert word in group.commands, (name, word)
            group = group.commands[word]


def test_hub_replicas_share_registry_and_redis_behind_a_balancer():
    services = load()["services"]
    hubs = [s for s in services.values() if (s.get("command") or [])[:2] == ["hub", "serve"]]
    assert len(hubs) >= 2
    for key in ("MXHUB_HUB_DSN", "MXHUB_REDIS_URL"):
        assert len({h["environment"][key] for h in hubs}) == 1, key  # one registry, one Redis
    assert all("ports" not in h for h in hubs)  # reached through the balancer only
    assert "redis" in services and "healthcheck" in services["redis"]
    lb = services["lb"]
    assert lb["ports"] and {"hub", "hub-2"} <= set(lb["depends_on"])
    conf = (COMPOSE.parent / "nginx.conf").read_text(encoding="utf-8")
    assert "server hub:8000" in conf and "server hub-2:8000" in conf
    assert services["register"]["environment"]["MXHUB_HUB_URL"] == "http://lb"
