"""The Swarm backend of the stack seam (`stack.docker.mode: swarm`), on the Docker Engine API.

The stack is the services `docker stack deploy` labelled `com.docker.stack.namespace=<compose_project>`;
a service `api` of it is the engine's `<project>_api`, and its running units are tasks, each
placed on a node and running one container there. Nothing here reads compose labels: a
Swarm stack has none, and a command that fell back to them would find nothing.

- a restart is a rolling `service update --force` (TaskTemplate.ForceUpdate raised by one):
  Swarm replaces the tasks one by one under the service's update_config;
- a stop is a scale to 0 that keeps the replicas it had in the service label
  `ops-bot.replicas` (on the service itself, so every bot replica, and a bot restarted
  since, reads the same number back); `start` scales back to it and drops the label;
- logs are the service's logs (every task), each line named by its task (`api.2`), and a
  live tail follows the service, so a task that replaces a killed one is followed too;
- exec runs in the container of a running task on the node this engine is (single-node
  stacks, or a bot next to a manager that runs the task).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn, cast

import aiodocker

from bot.targets.engine import EngineClient, whole_lines
from bot.targets.stack import ContainerInfo, ExecResult, ServiceState, Verb, parse_time
from bot.text.durations import format_duration
from bot.text.errors import TargetError
from bot.text.messages import Msg

STACK_LABEL = "com.docker.stack.namespace"
REMEMBER_LABEL = "ops-bot.replicas"
"""The service label where `stop` keeps the replicas for `start`."""
TASK_DETAIL = "com.docker.swarm.task.id="
_RANK = {"running": 0, "starting": 1, "preparing": 2, "assigned": 3, "pending": 4, "new": 5}


def _health_of(template: dict[str, Any]) -> bool:
    test = ((template.get("ContainerSpec") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def _stamp_key(stamp: str) -> tuple[str, str]:
    """An engine time (RFC 3339 Nano, UTC, trailing zeros of the fraction dropped) as a sort key."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return head, frac.ljust(9, "0")


def _task_name(task: dict[str, Any], short: str, nodes: dict[str, str]) -> str:
    """`api.2` (a replicated service's slot), or `api.<node>` for a global service's task."""
    slot = task.get("Slot")
    return f"{short}.{slot}" if slot else f"{short}.{nodes.get(str(task.get('NodeID') or ''), '?')}"


class SwarmTarget(EngineClient):
    """Per-service: `roll` and `set_replicas` change the service; Swarm replaces its tasks."""

    @property
    def kind(self) -> Literal["swarm"]:
        return "swarm"

    def _short(self, raw: dict[str, Any]) -> str:
        name = str(raw["Spec"]["Name"])
        prefix = f"{self.project}_"
        return name[len(prefix) :] if name.startswith(prefix) else name

    async def _services(self, service: str | None = None) -> list[dict[str, Any]]:
        filters = {"label": [f"{STACK_LABEL}={self.project}"]}
        found = await self._call("list services", self._docker().services.list(filters=filters))
        raws = [cast(dict[str, Any], raw) for raw in found]
        if service is not None:
            raws = [raw for raw in raws if self._short(raw) == service]
        return raws

    async def _service_raw(self, service: str) -> dict[str, Any]:
        found = await self._services(service)
        if not found:
            raise TargetError(service, Msg.of("swarm.no_service", service=service, project=self.project))
        return found[0]

    def _state(self, raw: dict[str, Any]) -> ServiceState:
        spec = raw["Spec"]
        template = spec.get("TaskTemplate") or {}
        replicated = (spec.get("Mode") or {}).get("Replicated")
        remembered = (spec.get("Labels") or {}).get(REMEMBER_LABEL)
        update = raw.get("UpdateStatus") or {}
        return ServiceState(
            name=self._short(raw),
            replicas=int(replicated.get("Replicas", 0)) if replicated is not None else -1,
            spec_mark=int(template.get("ForceUpdate") or 0),
            remembered=int(remembered) if remembered and remembered.isdigit() else None,
            update_state=update.get("State"),
            update_message=update.get("Message"),
            has_health=_health_of(template),
        )

    async def _nodes(self) -> dict[str, str]:
        found = await self._call("list nodes", self._docker().nodes.list())
        return {n["ID"]: (n.get("Description") or {}).get("Hostname", n["ID"][:12]) for n in found}

    async def _local_node(self) -> str:
        info = await self._call("engine info", self._docker().system.info())
        return str((info.get("Swarm") or {}).get("NodeID") or "")

    async def _tasks(self, service_ids: list[str], running_only: bool = True) -> list[dict[str, Any]]:
        if not service_ids:
            return []
        filters: dict[str, Any] = {"service": service_ids}
        if running_only:
            filters["desired-state"] = ["running"]
        found = await self._call("list tasks", self._docker().tasks.list(filters=filters))
        return [cast(dict[str, Any], task) for task in found]

    async def _health(self, container_id: str) -> tuple[str | None, bool]:
        """The container's health status and OOM flag, when its task runs on this engine's node."""
        if not container_id:
            return None, False
        try:
            raw = await asyncio.wait_for(self._docker().containers.container(container_id).show(), self.timeout)
        except (aiodocker.DockerError, TimeoutError, OSError):
            return None, False  # on another node, or already removed: the task's state says enough
        state = raw.get("State") or {}
        return (state.get("Health") or {}).get("Status"), bool(state.get("OOMKilled"))

    async def _task_info(self, task: dict[str, Any], short: str, nodes: dict[str, str]) -> ContainerInfo:
        status = task.get("Status") or {}
        container = status.get("ContainerStatus") or {}
        state = str(status.get("State", "unknown"))
        at = parse_time(status.get("Timestamp"))
        health, oom = await self._health(str(container.get("ContainerID") or ""))
        if state == "running" and at is not None:
            detail = f"up {format_duration(datetime.now(UTC) - at)}"
        else:
            detail = state + (f" ({status['Err']})" if status.get("Err") else "")
        exit_code = container.get("ExitCode")
        return ContainerInfo(
            id=str(container.get("ContainerID") or ""),
            name=_task_name(task, short, nodes),
            service=short,
            state=state,
            status=detail,
            image=str(((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")).split("@")[0],
            started_at=at if state == "running" else None,
            health=health,
            exit_code=exit_code if state != "running" and isinstance(exit_code, int) else None,
            oom_killed=oom,
            node=nodes.get(str(task.get("NodeID") or ""), str(task.get("NodeID") or "—")[:12] or None),
            task=str(task["ID"]),
            spec_mark=int((task.get("Spec") or {}).get("ForceUpdate") or 0),
        )

    async def containers(self, service: str | None = None) -> list[ContainerInfo]:
        """The current tasks (desired running) of the stack's services, with their node and state."""
        services = await self._services(service)
        if not services:
            return []
        names = {raw["ID"]: self._short(raw) for raw in services}
        tasks, nodes = await asyncio.gather(self._tasks(list(names)), self._nodes())
        infos = await asyncio.gather(*(self._task_info(t, names[t["ServiceID"]], nodes) for t in tasks))
        return sorted(infos, key=lambda c: (c.service, _RANK.get(c.state, 9), c.name))

    async def container_of(self, service: str) -> ContainerInfo:
        """A running task of the service with its container on this engine's node."""
        found = await self.containers(service)
        if not found:
            await self._service_raw(service)  # "no such service" before "no task"
            raise TargetError(service, Msg.of("swarm.no_task", service=service))
        local = await self._local_node()
        nodes = await self._nodes()
        here = nodes.get(local)
        for info in found:
            if info.running and info.id and (info.node == here or not here):
                return info
        running = next((info for info in found if info.running), None)
        if running is not None:
            raise TargetError(service, Msg.of("swarm.task_elsewhere", service=service, node=running.node or "?"))
        return found[0]

    async def _task_names(self, service_id: str, short: str) -> dict[str, str]:
        tasks, nodes = await asyncio.gather(self._tasks([service_id], running_only=False), self._nodes())
        return {str(task["ID"]): _task_name(task, short, nodes) for task in tasks}

    @staticmethod
    def _split(line: str, timestamps: bool) -> tuple[str, str, str]:
        """(time, task id, message) of a service log line: `<time> <details> <message>`."""
        stamp = ""
        if timestamps:
            stamp, _, line = line.partition(" ")
        details, sep, message = line.partition(" ")
        if not sep or TASK_DETAIL not in details:
            return stamp, "", line
        task = details.split(TASK_DETAIL, 1)[1].split(",", 1)[0]
        return stamp, task, message

    async def logs(
        self, service: str, tail: int, since: timedelta | None = None, timestamps: bool = False
    ) -> tuple[ContainerInfo, list[str]]:
        """The last `tail` lines of every task of the service, in time order, each named by its task.

        The engine applies `tail` per task; the lines are merged by their time and the newest
        `tail` kept. The ContainerInfo returned stands for the whole service (its engine name)."""
        raw = await self._service_raw(service)
        params: dict[str, Any] = {"tail": str(tail), "timestamps": True, "details": True}
        if since is not None:
            params["since"] = int((datetime.now(UTC) - since).timestamp())
        chunks = await self._call(
            f"logs of {service}",
            self._docker().services.logs(raw["ID"], stdout=True, stderr=True, **params),
        )
        names = await self._task_names(raw["ID"], service)
        lines = []
        for line in "".join(cast(list[str], chunks)).splitlines():
            stamp, task, message = self._split(line, True)
            lines.append((stamp, f"[{names.get(task, task[:12] or '?')}] {message}"))
        lines.sort(key=lambda pair: _stamp_key(pair[0]))
        shown = [f"{stamp} {text}" if timestamps else text for stamp, text in lines[-tail:]]
        state = self._state(raw)
        whole = ContainerInfo(
            id=str(raw["ID"]),
            name=str(raw["Spec"]["Name"]),
            service=service,
            state="running" if state.replicas else "stopped",
            status=f"{state.replicas} replicas",
            image="",
            started_at=None,
            health=None,
        )
        return whole, shown

    async def follow_logs(self, service: str) -> AsyncGenerator[str, None]:
        """Lines any task of the service writes from now on, each named by its task.

        The engine's service log follows the service, not a container: a task that replaces a
        killed or restarted one is followed as it starts. Its name is looked up when its first
        line comes. The stream lasts until the caller closes it (`contextlib.aclosing`)."""
        raw = await self._service_raw(service)
        names = await self._task_names(raw["ID"], service)
        stream = cast(
            AsyncGenerator[str, None],
            self._docker().services.logs(raw["ID"], stdout=True, stderr=True, follow=True, tail="0", details=True),
        )
        async with contextlib.aclosing(whole_lines(service, stream)) as lines:
            async for line in lines:
                _, task, message = self._split(line, False)
                if task and task not in names:
                    with contextlib.suppress(TargetError):  # a name is a courtesy: the line comes anyway
                        names.update(await self._task_names(raw["ID"], service))
                yield f"[{names.get(task, task[:12] or '?')}] {message}"

    async def inspect(self, info: ContainerInfo) -> ContainerInfo:
        """The task as the engine has it now."""
        if info.task is None:
            raise TargetError(info.service, Msg.of("swarm.no_task", service=info.service))
        task = await self._call("inspect task", self._docker().tasks.inspect(info.task))
        return await self._task_info(cast(dict[str, Any], task), info.service, await self._nodes())

    async def act(self, info: ContainerInfo, verb: Verb) -> ContainerInfo:
        self._per_service()

    @staticmethod
    def _per_service() -> NoReturn:
        """A task is Swarm's to replace: the bot changes the service (`roll`, `set_replicas`)."""
        raise TargetError("docker", Msg.of("swarm.per_service"))

    async def service(self, service: str) -> ServiceState:
        return self._state(await self._service_raw(service))

    async def _update(self, service: str, raw: dict[str, Any], spec: dict[str, Any], what: str) -> ServiceState:
        """POST the changed spec at the version read (a concurrent change is refused, not overwritten)."""
        version = raw["Version"]["Index"]
        await self._call(
            f"{what} {service}",
            self._docker()._query_json(
                f"services/{raw['ID']}/update", method="POST", data=json.dumps(spec), params={"version": version}
            ),
        )
        return self._state({**raw, "Spec": spec, "UpdateStatus": None})

    async def roll(self, service: str) -> ServiceState:
        """`docker service update --force`: the same spec with ForceUpdate + 1, so Swarm replaces
        every task under the service's update_config (order, parallelism, health monitoring)."""
        raw = await self._service_raw(service)
        spec = json.loads(json.dumps(raw["Spec"]))
        template = spec.setdefault("TaskTemplate", {})
        template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
        return await self._update(service, raw, spec, "restart")

    async def set_replicas(self, service: str, replicas: int, *, remember: bool = False) -> ServiceState:
        """Scale the service; with `remember`, keep today's replicas in REMEMBER_LABEL (a stop),
        without it drop that label (a start or a scale decides the count from now on)."""
        raw = await self._service_raw(service)
        spec = json.loads(json.dumps(raw["Spec"]))
        replicated = (spec.get("Mode") or {}).get("Replicated")
        if replicated is None:
            raise TargetError(service, Msg.of("swarm.global", service=service))
        labels = spec.setdefault("Labels", {})
        current = int(replicated.get("Replicas", 0))
        if remember:
            if current > 0:
                labels[REMEMBER_LABEL] = str(current)
        else:
            labels.pop(REMEMBER_LABEL, None)
        replicated["Replicas"] = replicas
        return await self._update(service, raw, spec, "scale")

    async def exec(
        self,
        service: str,
        argv: Sequence[str],
        on_output: Callable[[bytes], Awaitable[None]],
        timeout: float,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run `argv` in the container of a running task of the service on this engine's node."""
        info = await self.container_of(service)
        if not info.running or not info.id:
            raise TargetError(service, f"task {info.name} is not running ({info.status})")
        return await self._exec_in(service, info.id, info.name, argv, on_output, timeout, workdir)
