"""A Swarm stack deployed from a compose file on the session's private dockerd, read back by its CLI.

`api` (3 replicas, a health check, rolling updates one task at a time), `worker` (1 replica,
prints the bot's Slack token so redaction shows) and `flaky` (2 replicas whose new tasks fail
their health check while a flag file exists). `docker stack deploy` labels them with
`com.docker.stack.namespace` only: no compose label anywhere.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from private_dockerd import PrivateDockerd, wait_for_replicas

TOKEN = "xoxb-test-token-123"  # make_runtime's Slack token: the bot knows it as a secret

SCRIPTS = {
    "api": "trap 'exit 0' TERM; i=0; while :; do echo \"api line $$i from $$(hostname)\"; i=$$((i+1)); sleep 0.3; done",
    "worker": f"trap 'exit 0' TERM; while :; do echo \"work from $$(hostname) token {TOKEN}\"; sleep 0.2; done",
    # a task started while the flag exists fails its health check: old tasks stay healthy
    "flaky": "if [ -e /flags/broken ]; then touch /tmp/bad; fi; trap 'exit 0' TERM; while :; do sleep 0.2; done",
}
STACK_FILE = """\
version: "3.8"
x-fast: &fast
  image: opsbot/busybox:latest
  stop_grace_period: 1s
services:
  api:
    <<: *fast
    command: %(api)s
    healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 10s, retries: 3, start_period: 0s}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, delay: 0s, order: stop-first, monitor: 1s, failure_action: pause}
      restart_policy: {condition: any, delay: 0s}
  worker:
    <<: *fast
    command: %(worker)s
    deploy:
      replicas: 1
      restart_policy: {condition: any, delay: 0s}
  flaky:
    <<: *fast
    command: %(flaky)s
    healthcheck: {test: ["CMD-SHELL", "test ! -e /tmp/bad"], interval: 1s, timeout: 10s, retries: 1, start_period: 0s}
    volumes: [{type: bind, source: "%(flags)s", target: /flags}]
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 0s, order: stop-first, monitor: 2s, failure_action: pause}
      restart_policy: {condition: any, delay: 0s}
"""


class SwarmStack:
    """The deployed stack, read back through the private engine's CLI."""

    def __init__(self, engine: PrivateDockerd, name: str) -> None:
        self.engine = engine
        self.name = name
        self.flags = engine.root / f"{name}-flags"

    def service(self, service: str) -> dict[str, Any]:
        out = self.engine.docker("service", "inspect", f"{self.name}_{service}").stdout
        return dict(json.loads(out)[0])

    def tasks(self, service: str) -> list[dict[str, Any]]:
        """Tasks desired running, as the engine has them."""
        ids = self.engine.docker(
            "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", f"{self.name}_{service}"
        ).stdout.split()
        if not ids:
            return []
        return list(json.loads(self.engine.docker("inspect", "--type", "task", *ids).stdout))

    def replicas(self, service: str) -> int:
        return int(self.service(service)["Spec"]["Mode"]["Replicated"]["Replicas"])

    def force_mark(self, service: str) -> int:
        return int(self.service(service)["Spec"]["TaskTemplate"].get("ForceUpdate") or 0)

    def config(self, mode: str = "swarm", **kwargs: Any) -> str:
        from conftest import base_config  # conftest imports this module for its fixture

        text = base_config(project=self.name, **kwargs)
        text = text.replace("    url: unix:///var/run/docker.sock\n", f"    url: {self.engine.url}\n    mode: {mode}\n")
        return text.replace("services: [api, postgres, redis]", "services: [api, worker, flaky]")


@pytest.fixture(scope="session")
def swarm_stack(private_swarm: PrivateDockerd) -> Iterator[SwarmStack]:
    stack = SwarmStack(private_swarm, f"orders{uuid.uuid4().hex[:6]}")
    stack.flags.mkdir()
    began = time.monotonic()
    commands = {name: json.dumps(["sh", "-c", script]) for name, script in SCRIPTS.items()}
    private_swarm.deploy(stack.name, STACK_FILE % {**commands, "flags": stack.flags})
    wait_for_replicas(private_swarm, stack.name)
    private_swarm.timings["stack_deploy"] = time.monotonic() - began
    print(f"\nprivate swarm timings (s): {json.dumps({k: round(v, 2) for k, v in private_swarm.timings.items()})}")
    try:
        yield stack
    finally:
        private_swarm.remove_stack(stack.name)
