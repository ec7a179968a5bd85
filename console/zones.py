"""Which zone a device is in: set on the device, else by its group, else by a tag, else the default."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session, col, select

from console.tables import ZoneRule


class Placed(Protocol):
    zone: str | None
    group_name: str | None
    tags: list[str]


def effective_zone(session: Session, agent: Placed, default_zone: str) -> str:
    if agent.zone:
        return agent.zone
    keys = [("group", agent.group_name)] if agent.group_name else []
    keys += [("tag", tag) for tag in agent.tags or []]
    if not keys:
        return default_zone
    values = [value for _, value in keys]
    rules = session.exec(
        select(ZoneRule).where(col(ZoneRule.value).in_(values)).order_by(col(ZoneRule.priority), col(ZoneRule.id))
    ).all()
    wanted = set(keys)
    group_rules = [r for r in rules if r.kind == "group" and (r.kind, r.value) in wanted]
    tag_rules = [r for r in rules if r.kind == "tag" and (r.kind, r.value) in wanted]
    for rule in (*group_rules, *tag_rules):
        return rule.zone
    return default_zone
