"""`leakguard rules ...` run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rules import samples

CARD = "4111111111111111"
RID = "11010519491231002X"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakguard.cli", "rules", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "clean.txt").write_text("nothing to see here\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "card.txt").write_text(f"line one\ncard {CARD} and 身份证 {RID}\n")
    (tmp_path / "sub" / "report.docx").write_bytes(samples.docx(["quarterly", f"id {RID}"]))
    (tmp_path / "sub" / "bundle.zip").write_bytes(samples.zip_of({"inner/a.txt": f"AKIAQWERTYUIOPASDFGH {CARD}".encode()}))
    (tmp_path / "sealed.zip").write_bytes(samples.mark_zip_encrypted(samples.zip_of({"x.txt": b"x"})))
    return tmp_path


def test_scan_exit_codes(tree: Path) -> None:
    assert run("scan", str(tree / "clean.txt")).returncode == 0
    assert run("scan", str(tree / "sub" / "card.txt")).returncode == 1
    assert run("scan", str(tree / "missing.txt")).returncode == 2
    assert run("scan", str(tree / "clean.txt"), str(tree / "missing.txt")).returncode == 2


def test_scan_jsonl_fields_and_redaction(tree: Path) -> None:
    result = run("scan", "--format", "jsonl", str(tree))
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["detector"] for r in records} >= {"credit_card", "cn_resident_id", "aws_access_key"}
    for record in records:
        assert {"path", "detector", "start", "end", "confidence"} <= set(record)
        assert 0 <= record["confidence"] <= 1 and record["end"] > record["start"]
    card = next(r for r in records if r["path"].endswith("card.txt") and r["detector"] == "credit_card")
    text = (tree / "sub" / "card.txt").read_text()
    assert text[card["start"] : card["end"]] == CARD and (card["line"], card["column"]) == (2, 6)
    assert card["basis"] == ["check digit", "context word"]  # "card" before it
    zipped = next(r for r in records if r["path"].endswith("bundle.zip") and r["detector"] == "aws_access_key")
    assert zipped["member"] == "inner/a.txt"
    for secret in (CARD, RID, "AKIAQWERTYUIOPASDFGH"):
        assert secret not in result.stdout and secret not in result.stderr
    assert "sealed.zip: encrypted" in result.stderr


def test_scan_sarif_is_sarif_2_1_0(tree: Path) -> None:
    result = run("scan", "--format", "sarif", str(tree))
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert run_["tool"]["driver"]["name"] == "leakguard"
    for item in run_["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        assert item["level"] in ("error", "warning", "note")
        assert item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert CARD not in item["message"]["text"]
    text_hits = [r for r in run_["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("card.txt")]
    assert text_hits[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert any("encrypted" in n["message"]["text"] for n in notes)


def test_scan_text_format_and_filters(tree: Path) -> None:
    result = run("scan", "--detectors", "credit_card", "--min-level", "high", str(tree / "sub" / "card.txt"))
    assert result.returncode == 1
    assert result.stdout.count("credit_card") == 1 and "cn_resident_id" not in result.stdout
    assert "4111 **** **** 1111" not in result.stdout  # no spaces in the source, so the preview is compact
    assert "4111********1111" in result.stdout


def test_capped_detector_is_reported(tmp_path: Path) -> None:
    dense = tmp_path / "dense.txt"
    dense.write_text("10.1.2.3 " * 2000)
    result = run("scan", "--format", "jsonl", "--detectors", "ipv4", str(dense))
    assert result.returncode == 1 and len(result.stdout.splitlines()) == 500
    assert "more findings than reported for ipv4" in result.stderr


def test_progress_bar_on_stderr(tree: Path) -> None:
    result = run("scan", "--progress", "always", "--format", "jsonl", str(tree))
    assert "file" in result.stderr and "5/5" in result.stderr


def test_scan_with_policy_keywords_and_custom_detector(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nzone: high\ndetectors:\n  - id: employee_id\n    pattern: 'EMP-[0-9]{6}'\n"
                      "keywords:\n  - id: codenames\n    words: [凤凰计划]\nrules: []\n")
    doc = tmp_path / "d.txt"
    doc.write_text("员工 EMP-123456 参与凤凰计划")
    result = run("scan", "--format", "jsonl", "--policy", str(policy), str(doc))
    assert {json.loads(line)["detector"] for line in result.stdout.splitlines()} == {"employee_id", "codenames"}


def test_check(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("version: 1\nzone: high\nrules: []\n")
    bad.write_text("version: 1\nzone: high\nrules:\n  - id: x\n    action: explode\n")
    assert run("check", str(good)).returncode == 0
    result = run("check", str(good), str(bad))
    assert result.returncode == 1
    assert f"{bad}:5: rules[0].action: 'explode' is not one of" in result.stderr


def test_dry_run(tmp_path: Path) -> None:
    policy = tmp_path / "medium.yaml"
    policy.write_text(run_default("medium"))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        json.dumps({"id": "e1", "channel": "clipboard", "text": "key AKIAQWERTYUIOPASDFGH"}),
        json.dumps({"id": "e2", "channel": "print", "text": "hello"}),
        json.dumps({"id": "e3", "channel": "file_upload", "detectors": [{"id": "credit_card", "count": 6}],
                    "destination": "dropbox.com"}),
        "not json",
        json.dumps({"id": "e5", "channel": "fax"}),
        # declared counts and confidences are checked: 10^12 findings were built one by one
        json.dumps({"id": "e6", "channel": "clipboard", "detectors": [{"id": "credit_card", "count": 10**12}]}),
        '{"id": "e7", "channel": "clipboard", "detectors": [{"id": "credit_card", "confidence": NaN}]}',
        json.dumps({"id": "e8", "channel": "clipboard", "detectors": [{"id": "credit_card", "count": -3}]}),
    ]) + "\n")
    result = run("test", "--format", "jsonl", str(policy), str(events))
    verdicts = {v["id"]: v for v in map(json.loads, result.stdout.splitlines())}
    assert verdicts["e1"]["action"] == "block" and verdicts["e1"]["rule"] == "secrets-anywhere"
    assert verdicts["e2"]["action"] == "allow"
    assert verdicts["e3"]["override_allowed"] is True and verdicts["e3"]["matched"] == [["credit_card", 6]]
    assert result.returncode == 2 and ":4:" in result.stderr and ":5: channel" in result.stderr
    assert ":6: credit_card: count must be between 0 and 100,000" in result.stderr
    assert ":7: credit_card: confidence must be between 0 and 1, got nan" in result.stderr
    assert ":8: credit_card: count must be" in result.stderr and set(verdicts) == {"e1", "e2", "e3"}
    text = run("test", str(policy), str(events)).stdout
    assert "e1: BLOCK [high]" in text


def test_dry_run_with_files(tree: Path) -> None:
    policy = tree / "high.yaml"
    policy.write_text(run_default("high"))
    events = tree / "events.jsonl"
    events.write_text(json.dumps({"id": "f1", "channel": "file_upload", "file": "sealed.zip"}) + "\n"
                      + json.dumps({"id": "f2", "channel": "cloud_sync", "file": "sub/report.docx"}) + "\n"
                      + json.dumps({"id": "f3", "channel": "print", "file": "nope.txt"}) + "\n")
    result = run("test", "--format", "jsonl", str(policy), str(events))
    verdicts = {v["id"]: v for v in map(json.loads, result.stdout.splitlines())}
    assert verdicts["f1"]["rule"] == "uninspectable" and verdicts["f1"]["action"] == "block"
    assert verdicts["f2"]["rule"] == "any-sensitive" and ["cn_resident_id", 1] in verdicts["f2"]["matched"]
    assert result.returncode == 2 and ":3:" in result.stderr


def run_default(zone: str) -> str:
    from rules.policy import default_policy_text

    return default_policy_text(zone)


def test_fingerprint_and_edm_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    secret = tmp_path / "plan.docx"
    paragraphs = [f"Paragraph {i}: the phoenix launch moves to the northern plant after the board review "
                  f"of supplier contracts number {i} and the revised forecast for the region." for i in range(30)]
    secret.write_bytes(samples.docx(paragraphs))
    added = run("fingerprint", "add", "--store", str(store), str(secret))
    assert added.returncode == 0
    doc_id = added.stdout.split()[0]
    assert doc_id in run("fingerprint", "list", "--store", str(store)).stdout
    customers = tmp_path / "customers.csv"
    customers.write_text("name,phone,email\n张三,13812345678,zhang.san@example.com\n")
    assert run("edm", "index", "--store", str(store), str(customers)).returncode == 0
    assert "13812345678" not in (store / "edm" / "customers.json").read_text()
    mail = tmp_path / "mail.txt"
    mail.write_text(f"fyi\n{paragraphs[4]}\n客户张三 电话13812345678\n")
    result = run("scan", "--format", "jsonl", "--store", str(store), "--detectors", "email", str(mail))
    found = {json.loads(line)["detector"] for line in result.stdout.splitlines()}
    assert found == {f"fingerprint:{doc_id}", "edm:customers"}
    assert run("fingerprint", "remove", "--store", str(store), doc_id).returncode == 0
    assert run("fingerprint", "remove", "--store", str(store), doc_id).returncode == 1


def test_edm_index_of_a_hostile_csv_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    """A field over the csv module's 128 KiB limit raised csv.Error out of `edm index`."""
    hostile = tmp_path / "dump.csv"
    hostile.write_text('name,ssn\nAnna,078-05-1120\n"' + "x" * 200_000 + '",1\n')
    result = run("edm", "index", "--store", str(tmp_path / "store"), str(hostile))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "dump.csv: line 3: field larger than field limit" in result.stderr


def _big_tree(root: Path) -> Path:
    """40 files in 4 folders, half with findings, a docx, a zip and a corrupt zip among them."""
    for number in range(40):
        folder = root / f"part{number % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "plain words\n" * (number % 7 + 1)
        if number % 2:
            body += f"card {CARD}, id {RID}, mail a{number}@example.com\n" * (number % 3 + 1)
        (folder / f"file{number:02d}.txt").write_text(body)
    (root / "part1" / "report.docx").write_bytes(samples.docx(["quarterly", f"id {RID}"]))
    (root / "part2" / "bundle.zip").write_bytes(samples.zip_of({"inner/a.txt": f"AKIAQWERTYUIOPASDFGH {CARD}".encode()}))
    (root / "part3" / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    return root


@pytest.mark.parametrize("form", ["jsonl", "sarif", "text"])
def test_parallel_scan_prints_what_a_serial_one_does(tmp_path: Path, form: str) -> None:
    tree = _big_tree(tmp_path / "tree")
    serial = run("scan", "--format", form, "--jobs", "1", "--progress", "never", str(tree))
    parallel = run("scan", "--format", form, "--jobs", "3", "--progress", "never", str(tree))
    automatic = run("scan", "--format", form, "--progress", "never", str(tree))  # 43 files: one job per CPU
    assert serial.returncode == parallel.returncode == automatic.returncode == 1
    assert serial.stdout == parallel.stdout == automatic.stdout
    assert serial.stderr == parallel.stderr == automatic.stderr
    assert "broken.zip: unscannable" in serial.stderr
    if form == "jsonl":
        paths = [json.loads(line)["path"] for line in serial.stdout.splitlines()]
        assert len(paths) > 60 and paths == sorted(paths)  # in the walk's order


def test_jobs_must_be_a_small_whole_number(tree: Path) -> None:
    for bad in ("x", "-1", "1000"):
        result = run("scan", "--jobs", bad, str(tree))
        assert result.returncode == 2 and "--jobs" in result.stderr


def test_automatic_jobs_only_for_trees_worth_it() -> None:
    from rules.cli_scan import MAX_AUTO_JOBS, PROGRESS_MIN_FILES, jobs_for

    assert jobs_for(0, PROGRESS_MIN_FILES - 1) == 1
    assert 1 <= jobs_for(0, 10_000) <= MAX_AUTO_JOBS
    assert jobs_for(4, 2) == 2 and jobs_for(4, 100) == 4 and jobs_for(1, 100) == 1


def test_excluded_files_and_folders_are_not_scanned(tmp_path: Path) -> None:
    tree = _big_tree(tmp_path / "tree")
    (tree / ".git").mkdir()
    (tree / ".git" / "objects.txt").write_text(f"card {CARD}\n")
    (tree / "part0" / "debug.log").write_text(f"card {CARD}\n")
    every = {json.loads(line)["path"] for line in run("scan", "--format", "jsonl", "--jobs", "1", str(tree)).stdout.splitlines()}
    assert str(tree / ".git" / "objects.txt") in every and str(tree / "part0" / "debug.log") in every
    result = run("scan", "--format", "jsonl", "--jobs", "1", "--exclude", ".git", "--exclude", "*.log",
                 "--exclude", "part1/*", str(tree))
    kept = {json.loads(line)["path"] for line in result.stdout.splitlines()}
    assert kept == {p for p in every if "/.git/" not in p and not p.endswith(".log") and "/part1/" not in p}
    assert kept and result.returncode == 1


def test_a_baseline_leaves_out_the_findings_already_known(tmp_path: Path) -> None:
    tree = _big_tree(tmp_path / "tree")
    baseline = tmp_path / "baseline.jsonl"
    first = run("scan", "--format", "jsonl", str(tree))
    baseline.write_text(first.stdout)
    again = run("scan", "--format", "text", "--baseline", str(baseline), str(tree))
    assert again.returncode == 0 and again.stdout == ""
    assert f"0 finding(s) in 43 file(s) ({len(first.stdout.splitlines())} more in the baseline, not shown)" in again.stderr
    # a new value where a known one was, a known value in a new place, and a new file: all new
    (tree / "part0" / "file01.txt").write_text("plain words\n" + "card 5555555555554444\n")
    (tree / "part0" / "copy.txt").write_text(f"card {CARD}\n")
    (tree / "part3" / "new.txt").write_text("id 11010519491231002X\n")
    for jobs in ("1", "2"):
        news = run("scan", "--format", "jsonl", "--jobs", jobs, "--baseline", str(baseline), str(tree))
        records = [json.loads(line) for line in news.stdout.splitlines()]
        assert news.returncode == 1
        assert {(Path(r["path"]).name, r["detector"]) for r in records} == {
            ("file01.txt", "credit_card"), ("copy.txt", "credit_card"), ("new.txt", "cn_resident_id")}


def test_a_bad_baseline_is_a_clear_error(tmp_path: Path, tree: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "a", "detector": "credit_card", "digest": "00"}\nnot json\n')
    result = run("scan", "--baseline", str(bad), str(tree))
    assert result.returncode == 2 and f"{bad}:2: not a finding" in result.stderr
    missing = run("scan", "--baseline", str(tmp_path / "none.jsonl"), str(tree))
    assert missing.returncode == 2 and "baseline" in missing.stderr and "Traceback" not in missing.stderr


def test_scan_reads_images_by_ocr_unless_told_not_to(tmp_path: Path) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("tesseract", "tesseract-ocr")
    (tmp_path / "shot.png").write_bytes(samples.screenshot(["Invoice settled", "Card number: 4242 4242 4242 4242"]))
    read = run("scan", "--format", "jsonl", str(tmp_path))
    assert read.returncode == 1, read.stderr
    records = [json.loads(line) for line in read.stdout.splitlines()]
    assert [(Path(r["path"]).name, r["detector"]) for r in records] == [("shot.png", "credit_card")]
    assert "4242 4242" not in read.stdout
    unread = run("scan", "--no-ocr", str(tmp_path))
    assert unread.returncode == 0 and unread.stdout == ""
    assert "shot.png: unscannable" in unread.stderr and "no OCR engine" in unread.stderr
