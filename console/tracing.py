"""The trace service: decode evidence, resolve marks to device, user and time, open a case."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from console import watermarking
from console.presence import users_between
from console.sealing import open_evidence, seal_evidence
from console.signing import mark_secrets
from console.tables import Agent, AgentDisplay, Case, CaseEvidence


@dataclass(frozen=True)
class Attribution:
    key_id: int
    device: int
    agent: Agent | None
    monitor: int
    user: str | None
    time_from: datetime
    time_to: datetime


def attribute(session: Session, mark: int) -> Attribution | None:
    resolution = watermarking.resolve_mark(mark_secrets(session), mark)
    if resolution is None:
        return None
    start, end = (datetime.fromtimestamp(t, UTC) for t in watermarking.slot_window(resolution.slot))
    agent, monitor = _owner(session, resolution.device)
    users = users_between(session, agent.id, start, end) if agent else []
    return Attribution(key_id=resolution.key_id, device=resolution.device, agent=agent, monitor=monitor,
                       user=users[0] if users else None, time_from=start, time_to=end)


def _owner(session: Session, device: int) -> tuple[Agent | None, int]:
    """The agent and monitor a device number was issued to."""
    display = session.exec(select(AgentDisplay).where(AgentDisplay.device == device)).first()
    if display is not None:
        return session.get(Agent, display.agent_id), display.monitor
    return session.exec(select(Agent).where(Agent.device == device)).first(), 0


def open_case(session: Session, data: bytes, *, filename: str, actor: str, max_pixels: int,
              keep_evidence: bool = True) -> Case:
    """Raises watermarking.EvidenceRejected for input that is not a decodable image. The image is
    kept with the case (and a thumbnail for its report) unless `keep_evidence` is false."""
    decoded = watermarking.decode_evidence(data, max_pixels=max_pixels)
    case = Case(created_by=actor, filename=filename[:255], evidence_sha256=hashlib.sha256(data).hexdigest(),
                evidence_size=len(data), decoder_version=decoded.decoder_version, found=False,
                confidence=decoded.best_miss)
    detections = []
    for mark, confidence in decoded.detections:
        who = attribute(session, mark)
        detections.append(_detection(mark, confidence, who))
        if who is not None and not case.found:
            _fill(case, mark, confidence, who)
    if not case.found and decoded.detections:  # a mark was read but no key resolves it
        case.mark, case.confidence = f"{decoded.detections[0][0]:016x}", decoded.detections[0][1]
    case.detections = detections
    session.add(case)
    session.flush()
    if keep_evidence:  # sealed under the master key when the console has one
        number = int(case.id or 0)
        session.add(CaseEvidence(case_id=number, media_type=watermarking.media_type(data),
                                 data=seal_evidence(number, "data", data),
                                 thumbnail=seal_evidence(number, "thumbnail", decoded.thumbnail)))
        session.flush()
    return case


@dataclass(frozen=True)
class Evidence:
    media_type: str
    data: bytes
    thumbnail: bytes


def evidence_of(session: Session, case: Case) -> Evidence | None:
    """A case's image and thumbnail, opened; None when they were not kept."""
    row = session.get(CaseEvidence, case.id)
    if row is None:
        return None
    return Evidence(row.media_type, open_evidence(row.case_id, "data", row.data),
                    open_evidence(row.case_id, "thumbnail", row.thumbnail))


def reseal_evidence(session: Session, new_master: bytes) -> int:
    """Every kept image sealed under `new_master` (opened with the key given now, or from clear);
    how many. One image in memory at a time (each is written and let go); the caller commits."""
    numbers = session.exec(select(CaseEvidence.case_id)).all()
    for number in numbers:
        row = session.get(CaseEvidence, number)
        if row is None:
            continue
        row.data = seal_evidence(number, "data", open_evidence(number, "data", row.data), new_master)
        row.thumbnail = seal_evidence(number, "thumbnail", open_evidence(number, "thumbnail", row.thumbnail),
                                      new_master)
        session.add(row)
        session.flush()
        session.expunge(row)
    return len(numbers)


def _fill(case: Case, mark: int, confidence: float, who: Attribution) -> None:
    case.found, case.mark, case.confidence, case.key_id = True, f"{mark:016x}", confidence, who.key_id
    case.device, case.user, case.time_from, case.time_to = who.device, who.user, who.time_from, who.time_to
    if who.agent is not None:
        case.agent_id, case.hostname = who.agent.id, who.agent.hostname


def _detection(mark: int, confidence: float, who: Attribution | None) -> dict[str, object]:
    entry: dict[str, object] = {"mark": f"{mark:016x}", "confidence": confidence, "resolved": who is not None}
    if who is not None:
        entry.update(device=who.device, key_id=who.key_id, agent_id=who.agent.id if who.agent else None,
                     hostname=who.agent.hostname if who.agent else None, monitor=who.monitor, user=who.user, time_from=who.time_from.isoformat(), time_to=who.time_to.isoformat())
    return entry
