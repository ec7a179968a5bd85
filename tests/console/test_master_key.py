"""The console's private keys sealed at rest under a master key file, on both databases: keys kept
in clear are sealed at the next start with the key, marks and signatures stay the same, a console
without the key (or with another) refuses to start, saying why, evidence images are sealed too,
and `rekey` moves keys and images to a new master key."""

from __future__ import annotations

import base64
import io
import pathlib
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image
from sqlalchemy import text

from agent.policysync import verify_policy
from console.db import make_engine
from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login
from tests.fixtures.consoles import drop_pg_database, make_database_url, start_console, stop_console


def _evidence() -> bytes:
    sink = io.BytesIO()
    Image.effect_noise((400, 300), 40).convert("RGB").save(sink, "PNG")
    return sink.getvalue()


EVIDENCE = _evidence()


def stored(db_url: str) -> dict[str, list[bytes]]:
    """The secrets in the key table, by kind."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT kind, secret FROM key_material ORDER BY id")).all()
    finally:
        engine.dispose()
    out: dict[str, list[bytes]] = {}
    for kind, secret in rows:
        out.setdefault(kind, []).append(bytes(secret))
    return out


def mark_and_policy(url: str, agent: dict[str, object]) -> tuple[str, dict[str, object]]:
    headers = bearer(str(agent["agent_token"]))
    marks = http().get(f"{url}/api/v1/agents/marks", params={"from_slot": 500_000, "count": 1}, headers=headers)
    policy = http().get(f"{url}/api/v1/agents/policy", headers=headers)
    assert marks.status_code == 200 and policy.status_code == 200, (marks.text, policy.text)
    return str(marks.json()["marks"][0]["mark"]), dict(policy.json())


def evidence_sealed_and_served(url: str, headers: dict[str, str], db_url: str) -> int:
    """Trace an image: its kept copy is sealed in the database and served back as uploaded."""
    reply = http().post(f"{url}/api/v1/trace", files={"image": ("leak.png", EVIDENCE, "image/png")}, headers=headers)
    assert reply.status_code == 200, reply.text
    case = int(reply.json()["case_id"])
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            data, thumbnail = connection.execute(
                text("SELECT data, thumbnail FROM case_evidence WHERE case_id = :case"), {"case": case}).one()
    finally:
        engine.dispose()
    assert bytes(data).startswith(b"LGE1") and bytes(thumbnail).startswith(b"LGE1") and EVIDENCE not in bytes(data)
    served = http().get(f"{url}/api/v1/cases/{case}/evidence", headers=headers)
    assert served.status_code == 200 and served.content == EVIDENCE
    return case


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_keys_kept_in_clear_are_sealed_and_a_console_without_the_key_refuses_to_start(
        kind: str, tmp_path: pathlib.Path) -> None:
    db_url = make_database_url(kind, tmp_path)
    key_file, other_key = tmp_path / "master.key", tmp_path / "other.key"
    try:
        server = start_console(db_url, kind, tmp_path)  # no master key: keys in clear, as before
        try:
            agent = enroll(server.url, enroll_token(db_url, "--zone", "high"))
            mark, _ = mark_and_policy(server.url, agent)
        finally:
            stop_console(server)
        clear = stored(db_url)
        assert [len(s) for s in clear["policy_sign"] + clear["mark_secret"]] == [32, 32]

        made = cli("master-key", str(key_file))
        assert made.returncode == 0 and oct(key_file.stat().st_mode & 0o777) == "0o600", made.stderr
        assert cli("master-key", str(key_file)).returncode == 2  # never over an existing key
        env = {"LEAKGUARD_MASTER_KEY_FILE": str(key_file)}
        server = start_console(db_url, kind, tmp_path, env=env)
        try:
            sealed = stored(db_url)
            for old, new in zip(clear["policy_sign"] + clear["mark_secret"],
                                sealed["policy_sign"] + sealed["mark_secret"], strict=True):
                assert new.startswith(b"LGK1") and len(new) == 64 and old not in new
            again, policy = mark_and_policy(server.url, agent)
            assert again == mark  # the same secret, sealed: the same marks
            pinned = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(agent["policy_public_key"])))
            assert verify_policy(policy, pinned).signer == pinned.public_bytes_raw()
            admin = "keeper"
            made = cli("createadmin", "--db", db_url, "--username", admin, "--password-stdin", stdin=PASSWORD + "\n",
                       env=env)
            assert made.returncode == 0, made.stderr
            keeper = bearer(login(server.url, admin))
            resolved = http().post(f"{server.url}/api/v1/marks/resolve", json={"mark": mark}, headers=keeper).json()
            assert resolved["found"] and resolved["agent_id"] == agent["agent_id"]
            case = evidence_sealed_and_served(server.url, keeper, db_url)
            rotated = cli("rotate-keys", "--db", db_url, "--master-key-file", str(key_file))
            assert rotated.returncode == 0, rotated.stderr
            assert all(s.startswith(b"LGK1") for s in stored(db_url)["mark_secret"])
        finally:
            stop_console(server)

        locked = cli("enroll-token", "--db", db_url)
        assert locked.returncode == 2 and "sealed under a master key" in locked.stderr, locked.stderr
        assert "Traceback" not in locked.stderr
        assert cli("master-key", str(other_key)).returncode == 0
        wrong = cli("enroll-token", "--db", db_url, "--master-key-file", str(other_key))
        assert wrong.returncode == 2 and "does not open" in wrong.stderr, wrong.stderr
        serve = subprocess.run([sys.executable, "-m", "leakguard.cli", "console", "serve", "--db", db_url, "--port", "1"],
                               capture_output=True, text=True, timeout=120, check=False)
        assert serve.returncode == 2 and "sealed under a master key" in serve.stderr, serve.stderr
        (tmp_path / "junk.key").write_text("not a key\n")
        junk = cli("enroll-token", "--db", db_url, "--master-key-file", str(tmp_path / "junk.key"))
        assert junk.returncode == 2 and "not a master key" in junk.stderr, junk.stderr

        rekeyed = cli("rekey", "--db", db_url, "--master-key-file", str(key_file), "--new-master-key-file", str(other_key))
        # 2 mark secrets and the new signing key (the old one is wiped), and the traced image
        assert rekeyed.returncode == 0 and "3 keys and 1 evidence images sealed" in rekeyed.stderr, rekeyed.stderr
        old = cli("enroll-token", "--db", db_url, "--master-key-file", str(key_file))
        assert old.returncode == 2 and "does not open" in old.stderr, old.stderr
        server = start_console(db_url, kind, tmp_path, env={"LEAKGUARD_MASTER_KEY_FILE": str(other_key)})
        try:
            served = http().get(f"{server.url}/api/v1/cases/{case}/evidence", headers=bearer(login(server.url, admin)))
            assert served.status_code == 200 and served.content == EVIDENCE
        finally:
            stop_console(server)
    finally:
        if kind == "postgres":
            drop_pg_database(db_url)
