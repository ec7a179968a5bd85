"""The clipboard channel, service side: the session part sends what was copied, the service judges it.

Copies without findings and with an `allow` verdict are not recorded: the clipboard is busy and
most of it is nobody's business. The text itself never leaves this process.

Files copied in a file manager arrive as paths. The service reads them itself (folders walked),
but only files that the asking session's user may read (the socket's peer credentials and the
permission bits of the file and the folders above it; a user must not learn, through verdicts,
what is in files closed to them), only regular files, and at most
`max_bytes` in all per copy: files past that budget are judged as unscannable, so that a policy
that blocks what it cannot scan blocks them. Each judged file that matters is its own event (as
on the file channels); the reply carries the most severe verdict.
"""

from __future__ import annotations

import errno
import grp
import hashlib
import os
import pwd
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.channels.processes import redact_argv
from agent.events import FileInfo, new_event
from agent.judge import Context, Judgement, judge_bytes, judge_text
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.ports import Clock

MAX_CLIPBOARD_CHARS = 2_000_000
MAX_COPIED_FILES = 32  # paths named by one copy
MAX_JUDGED_FILES = 512  # files judged for one copy, folders walked (the byte budget applies too)
#: Severity of an action, to pick the verdict of a copy of several files.
ACTION_RANK = {"allow": 0, "audit": 1, "warn": 2, "block": 3, "quarantine": 3}
NOTICE = "[leakguard] This content was removed from the clipboard: {explanation}"


class ClipboardChannel:
    def __init__(self, outbox: Outbox, policies: PolicyStore, clock: Clock, user: Callable[[], str | None],
                 key: bytes | None = None, max_bytes: int = 64 * 1024 * 1024, ocr: bool = True) -> None:
        self.outbox, self.policies, self.clock, self.user, self.key = outbox, policies, clock, user, key
        self.max_bytes, self.ocr = max_bytes, ocr

    def judge(self, text: str, source: dict[str, Any] | None, target: dict[str, Any] | None) -> dict[str, Any]:
        from agent.extraction import extract_file
        from rules.extract.encoded import has_encoded_run
        from rules.extract.sealed import sealed, sealed_blocks

        source = _application(source)
        app = (source or {}).get("name")
        head = text[:MAX_CLIPBOARD_CHARS].encode("utf-8", "replace")
        blocks = sealed_blocks(head) or [what for what in [sealed(head)] if what]  # armored PGP, openssl -a...
        status, reason = ("encrypted", f"the copied text holds {blocks[0]}") if blocks else ("ok", None)
        scanned = text[:MAX_CLIPBOARD_CHARS]
        if not blocks and has_encoded_run(head):  # a file copied as base64: decoded and read in the worker
            extracted = extract_file(head, "clipboard.txt", ocr=self.ocr)
            scanned, status, reason = extracted.text, extracted.status, extracted.reason
        context = Context(channel="clipboard", application=app, destination=(target or {}).get("name"), size=len(text))
        judgement = judge_text(scanned, context, self.policies.active.policy, key=self.key, status=status, reason=reason)
        return self._reply([(judgement, self._record(judgement, source, target, text_length=len(text)))])

    def judge_files(self, paths: Any, raw_source: dict[str, Any] | None, uid: int) -> dict[str, Any]:
        """Judge files copied to the clipboard by a session of user `uid`."""
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            return {"ok": False, "error": "paths must be a non-empty list of absolute paths"}
        source = _application(raw_source)
        app = (source or {}).get("name")
        budget, judged, groups = self.max_bytes, [], _groups_of(uid)  # looked up once per copy
        files, more = copied_files(paths[:MAX_COPIED_FILES], uid, MAX_JUDGED_FILES, groups)
        for path in files:  # gone, not a file or folder, or closed to this user: nothing to paste
            raw = str(path)
            context = Context(channel="clipboard", application=app, file_type=path.suffix.lstrip(".").lower() or None,
                              file_name=path.name)
            try:
                data, sha256 = read_as(path, uid, limit=budget, groups=groups)
            except OSError as exc:
                size = _size(path)
                judgement = judge_text("", replace(context, size=size), self.policies.active.policy,
                                       status="unscannable", reason=f"not judged: {exc.strerror or exc}", key=self.key)
                info = FileInfo(raw, path.name, size, None)
            else:
                budget -= len(data)
                judgement = judge_bytes(data, path.name, replace(context, size=len(data)),
                                        self.policies.active.policy, key=self.key, ocr=self.ocr)
                info = FileInfo(raw, path.name, len(data), sha256)
            judged.append((judgement, self._record(judgement, source, None, file=info)))
        if more:
            judgement = judge_text("", Context(channel="clipboard", application=app), self.policies.active.policy,
                                   status="unscannable", reason=f"more than {MAX_JUDGED_FILES} files copied; "
                                   "the rest not judged", key=self.key)
            judged.append((judgement, self._record(judgement, source, None, files_not_judged=True)))
        if not judged:
            return {"ok": True, "action": "allow", "explanation": "", "override_allowed": False, "event_id": None}
        return self._reply(judged)

    def may_block(self) -> bool:
        """Whether the active policy has a rule (or a default) that can block a clipboard copy."""
        from rules.model import ACTIONS

        policy = self.policies.active.policy
        blocking = ACTIONS.index("block_with_override")
        return ACTIONS.index(policy.default_action) >= blocking or any(
            "clipboard" in rule.channels and ACTIONS.index(rule.action) >= blocking for rule in policy.rules)

    def judge_image(self, path: Any, raw_source: dict[str, Any] | None, uid: int) -> dict[str, Any]:
        """Judge an image copied by a session of user `uid`, which wrote it to `path`: read as that
        user may read it, by the text OCR finds in it."""
        if not isinstance(path, str) or not path.startswith("/"):
            return {"ok": False, "error": "path must be an absolute path"}
        source = _application(raw_source)
        context = Context(channel="clipboard", application=(source or {}).get("name"), file_type="png")
        groups = _groups_of(uid)
        try:
            if not readable_by(Path(path), uid, groups):
                raise PermissionError(errno.EACCES, "not a file this user may read")
            data, sha256 = read_as(Path(path), uid, limit=self.max_bytes, groups=groups)
        except OSError as exc:
            judgement = judge_text("", context, self.policies.active.policy, status="unscannable",
                                   reason=f"copied image not judged: {exc.strerror or exc}", key=self.key)
            image: dict[str, Any] = {"size": None, "sha256": None}
        else:
            judgement = judge_bytes(data, "clipboard.png", replace(context, size=len(data)), self.policies.active.policy,
                                    key=self.key, ocr=self.ocr)
            image = {"size": len(data), "sha256": sha256}
        return self._reply([(judgement, self._record(judgement, source, None, image=image))])

    def _record(self, judgement: Judgement, source: dict[str, Any] | None, target: dict[str, Any] | None,
                **fields: Any) -> dict[str, Any] | None:
        """The event of one judged copy (or copied file); None when there is nothing to record."""
        if judgement.action == "allow" and not judgement.detectors:
            return None
        event = new_event(
            "clipboard", judgement.action, timestamp=self.clock.time(), severity=judgement.severity,
            detectors=judgement.detectors, user=self.user(), source_application=source,
            target_application=target, **fields, **judgement.details(),
        )
        self.outbox.record(event)
        return event

    def _reply(self, judged: list[tuple[Judgement, dict[str, Any] | None]]) -> dict[str, Any]:
        """The most severe verdict among the judged parts of one copy."""
        judgement, event = max(judged, key=lambda pair: ACTION_RANK.get(pair[0].action, 0))
        reply: dict[str, Any] = {"ok": True, "action": judgement.action, "explanation": judgement.tip,
                                 "override_allowed": judgement.override_allowed,
                                 "event_id": event["id"] if event else None}
        if judgement.action == "block" and event is not None:
            reply["replacement"] = NOTICE.format(explanation=judgement.tip)
            if judgement.override_allowed:
                self.outbox.allow_override(event, {"clipboard": True})
        return reply


def readable_by(path: Path, uid: int, groups: set[int] | None = None) -> bool:
    """Whether `path` is a regular file that user `uid` may read: read permission on the file and
    search permission on every folder above it (owner, group or other bits; root reads
    everything). Symbolic links are followed, as the user's own open would. `groups`: those of
    `uid`, when the caller has them already."""
    return _allowed(path, uid, groups, stat.S_ISREG, read=True)


def listable_by(path: Path, uid: int, groups: set[int] | None = None) -> bool:
    """Whether `path` is a folder whose entries user `uid` may list and open."""
    return _allowed(path, uid, groups, stat.S_ISDIR, read=True, search=True)


def _allowed(path: Path, uid: int, groups: set[int] | None, kind: Callable[[int], bool], *, read: bool = False,
             search: bool = False) -> bool:
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except (OSError, RuntimeError):
        return False
    if not kind(info.st_mode):
        return False
    if uid == 0:
        return True
    groups = _groups_of(uid) if groups is None else groups
    try:
        folders = [folder.stat() for folder in real.parents]
    except OSError:
        return False
    wanted = (4 if read else 0) | (1 if search else 0)
    return _permits(info, uid, groups, wanted) and all(_permits(f, uid, groups, 1) for f in folders)


def _reachable(descriptor: int, uid: int, groups: set[int]) -> bool:
    """Whether `uid` may search every folder above the open file, at the path the kernel has for
    it (no links in it; a folder an attacker may not write to cannot be swapped under it)."""
    try:
        opened = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
        return opened.is_absolute() and all(_permits(folder.stat(), uid, groups, 1) for folder in opened.parents)
    except OSError:
        return False


def _permits(info: os.stat_result, uid: int, groups: set[int], wanted: int) -> bool:
    """Whether the permission bits (4 read, 1 search) `wanted` are granted to `uid` (the owner's
    bits for the owner, the group's for a member, else the others')."""
    mode = info.st_mode
    bits = (mode >> 6) & 7 if info.st_uid == uid else (mode >> 3) & 7 if info.st_gid in groups else mode & 7
    return bits & wanted == wanted


def read_as(path: Path, uid: int, *, limit: int, groups: set[int] | None = None) -> tuple[bytes, str]:
    """At most `limit` bytes of `path` and their SHA-256, checked again on the opened file: the
    last name is not followed if it became a link after `readable_by` looked, a FIFO swapped in
    cannot block the read, and the opened file must still be one that `uid` may read, where the
    kernel says it is: a folder above it swapped for a link into a folder closed to `uid` after
    `readable_by` looked is caught by the search bits of the folders above the opened file."""
    descriptor = os.open(path.resolve(strict=True), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        groups = _groups_of(uid) if groups is None else groups
        allowed = uid == 0 or (_permits(info, uid, groups, 4) and _reachable(handle.fileno(), uid, groups))
        if not stat.S_ISREG(info.st_mode) or not allowed:
            raise PermissionError(errno.EACCES, "changed while it was being judged")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"over the copy's budget of {limit} bytes")
    return data, hashlib.sha256(data).hexdigest()


def copied_files(paths: list[str], uid: int, limit: int, groups: set[int] | None = None) -> tuple[list[Path], bool]:
    """The files a copy of `paths` carries that user `uid` may read: files as named, folders walked
    (symbolic links to folders not followed, folders closed to the user skipped); at most `limit`,
    and whether more were left out."""
    found: list[Path] = []
    groups = _groups_of(uid) if groups is None else groups
    for raw in paths:
        path = Path(raw)
        if listable_by(path, uid, groups):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if listable_by(Path(root, d), uid, groups))
                for name in sorted(names):
                    if readable_by(Path(root, name), uid, groups):
                        if len(found) == limit:
                            return found, True
                        found.append(Path(root, name))
        elif readable_by(path, uid, groups):
            if len(found) == limit:
                return found, True
            found.append(path)
    return found, False


def _groups_of(uid: int) -> set[int]:
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return set()
    return {user.pw_gid, *(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)}


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _application(raw: Any) -> dict[str, Any] | None:
    """The copying program as the session part saw it, trimmed: no secrets from its command line."""
    if not isinstance(raw, dict):
        return None
    argv = raw.get("cmdline")
    cmdline = redact_argv(tuple(str(a) for a in argv[:16])) if isinstance(argv, list | tuple) else []
    return {"pid": raw.get("pid"), "name": raw.get("name"), "exe": raw.get("exe"), "user": raw.get("user"),
            "cmdline": cmdline}
