"""Tracing leaked screenshots and managing the forensic cases they open."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from console import audit, ratelimit
from console.auth import Investigator, Reader, SessionDep
from console.report import render_case_html, render_case_pdf
from console.schemas import MAX_ROW_ID, ResolveIn, ResolveOut, RowId, TraceOut
from console.tables import Case
from console.tracing import attribute, evidence_of, open_case
from console.watermarking import EvidenceRejected

router = APIRouter(prefix="/api/v1", tags=["trace"])
READ_CHUNK = 1024 * 1024


def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := upload.file.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"evidence larger than {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise HTTPException(422, "the uploaded image is empty")
    return b"".join(chunks)


@router.post("/trace", response_model=TraceOut, responses={413: {"description": "too large"},
                                                           429: {"description": "too many traces; see Retry-After"}})
def trace(image: UploadFile, person: Investigator, request: Request, session: SessionDep) -> TraceOut:
    settings = request.app.state.settings
    _within_limit(session, request, person.username, "case_open", settings.traces_per_window, "traces")
    session.commit()  # hand the connection back while the upload is read and decoded
    data = _read_limited(image, settings.max_trace_bytes)
    try:
        case = open_case(session, data, filename=image.filename or "", actor=person.username,
                         max_pixels=settings.max_trace_pixels, keep_evidence=settings.keep_evidence)
    except EvidenceRejected as exc:
        raise HTTPException(422, f"not a decodable image: {exc}") from exc
    audit.record(session, request, person.username, "case_open", str(case.id), sha256=case.evidence_sha256)
    session.commit()
    return _trace_out(case)


def _within_limit(session: SessionDep, request: Request, actor: str, action: str, limit: int, what: str) -> None:
    """429 with Retry-After (audited) once `actor` has made `limit` of `action` within the window."""
    window = request.app.state.settings.limit_window_seconds
    wait = ratelimit.busy(session, actor, action, limit, window)
    if wait is not None:
        audit.record(session, request, actor, "rate_limited", action, retry_after=wait)
        session.commit()
        raise HTTPException(429, f"{limit} {what} within {window} s is the limit; try again in {wait} s",
                            headers={"Retry-After": str(wait)})


def _trace_out(case: Case) -> TraceOut:
    return TraceOut(found=case.found, mark=case.mark, confidence=case.confidence, agent_id=case.agent_id,
                    device=case.device, hostname=case.hostname, user=case.user, time_from=case.time_from,
                    time_to=case.time_to, evidence_sha256=case.evidence_sha256,
                    decoder_version=case.decoder_version, case_id=int(case.id or 0), detections=case.detections,
                    marks=[d for d in case.detections if d.get("resolved")])


@router.post("/marks/resolve", response_model=ResolveOut,
             responses={429: {"description": "too many resolutions; see Retry-After"}})
def resolve(body: ResolveIn, person: Investigator, request: Request, session: SessionDep) -> ResolveOut:
    _within_limit(session, request, person.username, "mark_resolve", request.app.state.settings.resolves_per_window,
                  "mark resolutions")
    mark = body.mark.lower()
    who = attribute(session, int(mark, 16))
    audit.record(session, request, person.username, "mark_resolve", mark, found=who is not None)
    session.commit()
    if who is None:
        return ResolveOut(found=False, mark=mark)
    return ResolveOut(found=True, mark=mark, key_id=who.key_id, device=who.device,
                      agent_id=who.agent.id if who.agent else None, hostname=who.agent.hostname if who.agent else None,
                      user=who.user, time_from=who.time_from, time_to=who.time_to, monitor=who.monitor)


class CaseOut(TraceOut):
    created_at: datetime
    created_by: str
    filename: str
    status: str


def _case_out(case: Case) -> CaseOut:
    return CaseOut(**_trace_out(case).model_dump(), created_at=case.created_at, created_by=case.created_by,
                   filename=case.filename, status=case.status)


def _case(session: SessionDep, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(404, "no such case")
    return case


@router.get("/cases", response_model=list[CaseOut])
def list_cases(person: Reader, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None) -> list[CaseOut]:
    query = select(Case)
    if before_id is not None:
        query = query.where(col(Case.id) < before_id)
    return [_case_out(c) for c in session.exec(query.order_by(col(Case.id).desc()).limit(limit)).all()]


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: RowId, person: Reader, session: SessionDep) -> CaseOut:
    return _case_out(_case(session, case_id))


@router.get("/cases/{case_id}/evidence", response_class=Response,
            responses={200: {"content": {"image/*": {}}, "description": "the image the case was opened on"},
                       404: {"description": "no such case, or its image was not kept"}})
def case_evidence(case_id: RowId, person: Investigator, request: Request, session: SessionDep) -> Response:
    """The traced image as uploaded; its SHA-256 is the case's evidence hash (audited)."""
    case = _case(session, case_id)
    evidence = evidence_of(session, case)
    if evidence is None:
        raise HTTPException(404, f"case {case_id}: its image was not kept (LEAKGUARD_KEEP_EVIDENCE was off)")
    audit.record(session, request, person.username, "evidence_read", str(case_id), sha256=case.evidence_sha256)
    session.commit()
    extension = evidence.media_type.rpartition("/")[2].replace("octet-stream", "bin")
    return Response(evidence.data, media_type=evidence.media_type, headers={
        "X-Evidence-SHA256": case.evidence_sha256,
        "Content-Disposition": f'attachment; filename="case-{case_id}-{case.evidence_sha256[:12]}.{extension}"'})


@router.get("/cases/{case_id}/report.html", response_class=HTMLResponse)
def case_report(case_id: RowId, person: Reader, session: SessionDep) -> HTMLResponse:
    case = _case(session, case_id)
    return HTMLResponse(render_case_html(case, _thumbnail(session, case)))


def _thumbnail(session: SessionDep, case: Case) -> bytes | None:
    evidence = evidence_of(session, case)
    return evidence.thumbnail if evidence is not None and evidence.thumbnail else None


@router.get("/cases/{case_id}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the case report as PDF"}})
def case_report_pdf(case_id: RowId, person: Reader, session: SessionDep) -> Response:
    case = _case(session, case_id)
    return Response(render_case_pdf(case, _thumbnail(session, case)), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="leakguard-case-{case_id}.pdf"'})


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close_case(case_id: RowId, person: Investigator, request: Request, session: SessionDep) -> CaseOut:
    case = _case(session, case_id)
    case.status = "closed"
    session.add(case)
    audit.record(session, request, person.username, "case_close", str(case_id))
    session.commit()
    return _case_out(case)
