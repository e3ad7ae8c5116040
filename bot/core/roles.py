"""Who may run what: viewer < operator < admin, from ops.yml, checked in one place.

A person's role is the highest role whose list names them: their user id, a user group
they belong to (resolved with usergroups.users.list and cached briefly, so a change in
Slack takes effect within a minute), or "*". `permissions` in ops.yml moves a command's
least role up or down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.config.ops_yml import OpsConfig
from bot.core.registry import ROLE_ORDER, Operation
from bot.text.errors import RoleError
from bot.text.messages import Catalog

log = logging.getLogger(__name__)

GroupMembers = Callable[[str], Awaitable[set[str]]]


def rank(role: str | None) -> int:
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else -1


class RoleResolver:
    def __init__(self, config: OpsConfig, group_members: GroupMembers | None = None, ttl: float = 60.0) -> None:
        self._config = config
        self._group_members = group_members
        self._ttl = ttl
        self._cache: dict[str, tuple[float, set[str]]] = {}

    async def _members(self, group: str) -> set[str]:
        cached = self._cache.get(group)
        now = time.monotonic()
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        if self._group_members is None:
            return set()
        try:
            members = await self._group_members(group)
        except Exception as exc:  # a Slack outage must not grant or crash; keep the last known list
            log.warning("could not resolve user group %s: %s", group, exc)
            return cached[1] if cached else set()
        self._cache[group] = (now, members)
        return members

    async def _listed(self, user_id: str, entries: list[str]) -> bool:
        if "*" in entries or user_id in entries:
            return True
        for entry in entries:
            if entry.startswith("S") and user_id in await self._members(entry):
                return True
        return False

    async def role_of(self, user_id: str) -> str | None:
        """The highest role that lists the user, or None when not even viewer."""
        roles = self._config.roles
        for name in reversed(ROLE_ORDER):
            if await self._listed(user_id, list(getattr(roles, name))):
                return name
        return None

    def required(self, op: Operation) -> str:
        """The least role for `op`, after the `permissions` overrides of ops.yml."""
        return self._config.permissions.get(op.name, op.role)

    def allows(self, role: str | None, op: Operation) -> bool:
        return rank(role) >= rank(self.required(op))

    def channel_allowed(self, channel_id: str | None) -> bool:
        allowed = self._config.slack.allowed_channels
        return not allowed or channel_id in allowed

    async def holders(self, needed: str) -> list[str]:
        """Names from the contact table of the people whose role is at least `needed`: a refusal
        that says whom to ask saves a tired person a search through ops.yml at 3 AM."""
        names: list[str] = []
        for contact in self._config.contacts:
            if contact.name not in names and rank(await self.role_of(contact.slack)) >= rank(needed):
                names.append(contact.name)
        return names

    async def refusal(self, t: Catalog, operation: str, needed: str, role: str | None) -> RoleError:
        """The one role refusal: what was asked, the role it needs, the caller's, and who holds it."""
        names = await self.holders(needed)
        who = (
            t("error.role.held_by", names=", ".join(names))
            if names
            else t("error.role.held_by_none", roles_key=f"roles.{needed}")
        )
        return RoleError(
            "error.role.who",
            operation=operation,
            needed=t(f"role.{needed}"),
            role=t(f"role.{role}") if role else t("role.none"),
            holders=who,
        )
