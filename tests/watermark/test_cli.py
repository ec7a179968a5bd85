"""The public command lines: `leakguard watermark render` and `leakguard trace --json`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from leakguard.cli import main
from tests.watermark.images import marked, text_page


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(list(argv))
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines if line.startswith("{")]


def test_render_then_trace_the_overlay_png_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "overlay.png"
    assert main(["watermark", "render", "--mark", "0123456789abcdef", "--width", "800", "--height", "600", "--out", str(out)]) == 0
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (600, 800, 4)
    code, records = run(capsys, "trace", "--json", str(out))
    assert code == 0
    assert records[0]["found"] is True and records[0]["mark"] == "0123456789abcdef"
    assert 0.5 <= float(records[0]["confidence"]) <= 1.0  # type: ignore[arg-type]


def test_trace_mixed_inputs_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leak = tmp_path / "leak.png"
    cv2.imwrite(str(leak), marked(text_page(640, 400))[..., ::-1])
    clean = tmp_path / "clean.jpg"
    cv2.imwrite(str(clean), text_page(640, 400, seed=3))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    paths = [str(leak), str(clean), str(junk), str(tmp_path / "missing.png")]
    code, records = run(capsys, "trace", "--json", *paths)
    assert code == 0
    assert [r["path"] for r in records] == paths
    assert records[0]["found"] is True and records[0]["mark"] == "0123456789abcdef"
    assert records[1]["found"] is False and records[1]["mark"] is None and "error" not in records[1]
    assert records[2]["found"] is False and "error" in records[2]
    assert records[3]["found"] is False and "error" in records[3]
    for record in records:
        assert {"path", "found", "mark", "confidence", "seconds"} <= set(record)


def test_trace_human_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leak = tmp_path / "leak.png"
    cv2.imwrite(str(leak), marked(np.full((300, 400, 3), 200, dtype=np.uint8))[..., ::-1])
    assert main(["trace", str(leak)]) == 0
    assert "mark 0123456789abcdef" in capsys.readouterr().out


@pytest.mark.parametrize("mark", ["0123", "0123456789abcdeg", "0x23456789abcdef"])
def test_render_rejects_bad_marks(mark: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["watermark", "render", "--mark", mark, "--width", "8", "--height", "8", "--out", str(tmp_path / "o.png")])
    assert exc.value.code == 2


def test_trace_without_images_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["trace", "--json"])
    assert exc.value.code == 2


def test_trace_console_without_credentials_fails_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKGUARD_TOKEN", raising=False)
    assert main(["trace", "--console", "http://127.0.0.1:9", str(tmp_path / "x.png")]) == 1


def test_trace_console_unreachable_reports_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leak = tmp_path / "leak.png"
    cv2.imwrite(str(leak), marked(np.full((300, 400, 3), 200, dtype=np.uint8))[..., ::-1])
    code, records = run(capsys, "trace", "--json", "--console", "http://127.0.0.1:9", "--token", "t", str(leak))
    assert code == 1
    assert records[0]["found"] is True and "cannot reach the console" in str(records[0]["console_error"])
