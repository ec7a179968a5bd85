"""`leakguard console ...`: serve, and administer a console database directly."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import re
import sys
from collections.abc import Callable
from datetime import timedelta

from console.settings import DEFAULT_DB_URL, get_settings

DURATION = re.compile(r"^(\d+)([smhdw]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="console_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve the console API")
    serve.add_argument("--db", default=None, metavar="URL", help=f"default {DEFAULT_DB_URL}")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (share one database)")
    _master_key_file(serve)
    serve.set_defaults(handler=_guarded(_serve))
    admin = sub.add_parser("createadmin", help="create a person with the admin role")
    _db(admin)
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    admin.set_defaults(handler=_guarded(_createadmin))
    enroll = sub.add_parser("enroll-token", help="print a new agent enrollment token")
    _db(enroll)
    enroll.add_argument("--zone")
    enroll.add_argument("--expires", metavar="DURATION", help="e.g. 30m, 24h, 7d (default: never)")
    enroll.add_argument("--max-uses", type=int)
    enroll.set_defaults(handler=_guarded(_enroll_token))
    token = sub.add_parser("token", help="API tokens for scripts")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_sub.add_parser("create", help="print a new API token for a person")
    _db(create)
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="what the token is for")
    create.add_argument("--days", type=int, help="expire after this many days (default: never)")
    create.set_defaults(handler=_guarded(_token_create))
    rotate = sub.add_parser("rotate-keys", help="new watermark mark secret (old marks still resolve) and new "
                                                "policy-signing key (endorsed by the old one; agents follow)")
    _db(rotate)
    rotate.add_argument("--only", choices=("mark-secret", "policy-key"),
                        help="rotate just this one (default: both)")
    rotate.set_defaults(handler=_guarded(_rotate_keys))
    backup = sub.add_parser("backup", help="write a consistent backup of the console database")
    _db(backup)
    backup.add_argument("--out", required=True, metavar="FILE")
    backup.set_defaults(handler=_guarded(_backup))
    prune = sub.add_parser("prune", help="delete events older than the retention period now")
    _db(prune)
    prune.add_argument("--days", type=int, help="retention in days (default: the setting)")
    prune.set_defaults(handler=_guarded(_prune))
    rekey = sub.add_parser("rekey", help="seal the console's keys under a new master key (open them with "
                                         "--master-key-file, or from clear); serve with the new one after")
    _db(rekey)
    rekey.add_argument("--new-master-key-file", required=True, metavar="FILE")
    rekey.set_defaults(handler=_guarded(_rekey))
    master = sub.add_parser("master-key", help="write a new master key file, which seals the console's private keys "
                                               "in the database (give it to serve with --master-key-file)")
    master.add_argument("path", metavar="FILE")
    master.set_defaults(handler=_guarded(_master_key))


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, metavar="URL", help="sqlite:///PATH or postgresql://...")
    _master_key_file(parser)


def _master_key_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master-key-file", metavar="FILE",
                        help="the key that seals the console's private keys in the database "
                             "(default: $LEAKGUARD_MASTER_KEY_FILE; make one with `master-key`)")


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`handler` with the master key file given to the process (and its workers), and keys that
    cannot be opened told as such, not as a traceback."""
    from console.sealing import MASTER_KEY_ENV, LockedKeys

    def run(args: argparse.Namespace) -> int:
        if getattr(args, "master_key_file", None):
            os.environ[MASTER_KEY_ENV] = os.path.abspath(args.master_key_file)
        try:
            return handler(args)
        except LockedKeys as exc:
            return _fail(str(exc))

    return run


def _rekey(args: argparse.Namespace) -> int:
    from console import audit
    from console.sealing import master_key
    from console.signing import reseal
    from console.tracing import reseal_evidence

    new = master_key(os.path.abspath(args.new_master_key_file))
    if new is None:
        return _fail("--new-master-key-file names no file")
    with _prepared_session(args.db) as session:
        count, images = reseal(session, new), reseal_evidence(session, new)
        audit.record(session, None, "cli", "keys_resealed", args.new_master_key_file, keys=count, evidence=images)
        session.commit()
    print(f"{count} keys and {images} evidence images sealed under {args.new_master_key_file}; serve with "
          f"--master-key-file {args.new_master_key_file} from now on", file=sys.stderr)
    return 0


def _master_key(args: argparse.Namespace) -> int:
    from console.sealing import new_master_key

    try:
        new_master_key(args.path)
    except OSError as exc:
        return _fail(f"{args.path}: {exc.strerror or exc}")
    print(f"master key written to {args.path} (mode 600); keep a copy apart from the database's backups: "
          "without it, the console's keys cannot be opened", file=sys.stderr)
    return 0


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"duration {text!r}: use a number with s, m, h, d or w, e.g. 24h")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def _prepared_session(url: str):  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from console.db import make_engine
    from console.migration import prepare_database

    engine = make_engine(url)
    prepare_database(engine)
    return Session(engine, expire_on_commit=False)


def _fail(message: str) -> int:
    print(f"leakguard console: {message}", file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from console.db import make_engine
    from console.migration import prepare_database

    base = get_settings()
    settings = dataclasses.replace(base, database_url=args.db or base.database_url,
                                   host=args.host or base.host, port=args.port or base.port)
    prepare_database(make_engine(settings.database_url))
    if args.workers > 1:
        os.environ["LEAKGUARD_DB"] = settings.database_url
        uvicorn.run("console.app:create_app_from_env", factory=True, host=settings.host, port=settings.port,
                    workers=args.workers, log_level="warning")
        return 0
    from console.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    return 0


def _createadmin(args: argparse.Namespace) -> int:
    from console.people import PersonError, create_user

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else getpass.getpass("password: ")
    with _prepared_session(args.db) as session:
        try:
            create_user(session, args.username, password, "admin")
        except PersonError as exc:
            return _fail(str(exc))
        from console import audit

        audit.record(session, None, "cli", "user_create", args.username, role="admin")
        session.commit()
    print(f"created admin {args.username}", file=sys.stderr)
    return 0


def _enroll_token(args: argparse.Namespace) -> int:
    from console.enrollment import create_enrollment_token
    from console.policies import PolicyInvalid, check_zone

    try:
        expires = parse_duration(args.expires) if args.expires else None
        zone = check_zone(args.zone) if args.zone else None
    except (ValueError, PolicyInvalid) as exc:
        return _fail(str(exc))
    if args.max_uses is not None and args.max_uses < 1:
        return _fail("--max-uses must be at least 1")
    with _prepared_session(args.db) as session:
        token, _ = create_enrollment_token(session, zone=zone, expires=expires, max_uses=args.max_uses, actor="cli")
    print(token)
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from console.people import issue_token
    from console.tables import User

    with _prepared_session(args.db) as session:
        user = session.exec(select(User).where(User.username == args.username)).first()
        if user is None:
            return _fail(f"no user {args.username!r}")
        lifetime = timedelta(days=args.days) if args.days else None
        token, _ = issue_token(session, user, kind="api", name=args.name, lifetime=lifetime)
        session.commit()
    print(token)
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    from console.policies import rotate_signing_key
    from console.signing import rotate_mark_secret

    with _prepared_session(args.db) as session:
        if args.only in (None, "mark-secret"):
            key_id = rotate_mark_secret(session)
            print(f"new mark secret key id {key_id}; marks issued under older keys still resolve", file=sys.stderr)
        if args.only in (None, "policy-key"):
            key_id, resigned = rotate_signing_key(session)
            print(f"new policy-signing key id {key_id}, endorsed by the old one (now wiped); {resigned} current "
                  "policies re-signed; agents move to it at their next policy fetch", file=sys.stderr)
    return 0


def _backup(args: argparse.Namespace) -> int:
    from console.backup import BackupError, backup_database

    try:
        backup_database(args.db, args.out)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"backup written to {args.out}", file=sys.stderr)
    return 0


def _prune(args: argparse.Namespace) -> int:
    from console.events import prune_events

    days = args.days if args.days is not None else get_settings().retention_days
    with _prepared_session(args.db) as session:
        deleted = prune_events(session, retention_days=days)
    print(f"deleted {deleted} events older than {days} days", file=sys.stderr)
    return 0
