"""Realistic screen content for the watermark benchmark, rendered by headless Chromium.

Documents, code editors (light and dark), spreadsheets, a photo viewer and a video player, from
1366x768 to 4K (HiDPI: device scale factor 2), plus flat white, black and grey. Photos come from
scikit-image's bundled sample images. Output: bench/out/watermark/corpus/*.png (cached).
"""

from __future__ import annotations

import base64
import pathlib
import random
from dataclasses import dataclass

import cv2
import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WORDS = ["the", "quarterly", "revenue", "forecast", "assumes", "stable", "margins", "across", "regions", "while", "procurement", "costs", "remain", "under", "review", "contract", "renewal", "terms", "customer", "churn", "pipeline", "coverage", "board", "approval", "confidential", "draft", "budget", "headcount", "merger", "due", "diligence", "supplier", "audit", "compliance", "report"]


@dataclass(frozen=True)
class Screen:
    name: str
    kind: str
    width: int  # CSS pixels
    height: int
    scale: int = 1  # device pixel ratio


SCREENS = (
    Screen("doc-1366", "document", 1366, 768),
    Screen("code-dark-1366", "code-dark", 1366, 768),
    Screen("sheet-1366", "spreadsheet", 1366, 768),
    Screen("doc-1080", "document", 1920, 1080),
    Screen("code-light-1080", "code-light", 1920, 1080),
    Screen("code-dark-1080", "code-dark", 1920, 1080),
    Screen("sheet-1080", "spreadsheet", 1920, 1080),
    Screen("viewer-1080", "viewer", 1920, 1080),
    Screen("video-1080", "video", 1920, 1080),
    Screen("doc-1440", "document", 2560, 1440),
    Screen("viewer-1440", "viewer", 2560, 1440),
    Screen("doc-4k-hidpi", "document", 1920, 1080, 2),
    Screen("code-dark-4k-hidpi", "code-dark", 1920, 1080, 2),
    Screen("flat-white-1080", "flat:255", 1920, 1080),
    Screen("flat-black-1080", "flat:0", 1920, 1080),
    Screen("flat-grey-1080", "flat:128", 1920, 1080),
)


def build_corpus(out_dir: pathlib.Path) -> dict[str, np.ndarray]:
    """RGB screens by name, rendering (once) whatever is not cached in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = [s for s in SCREENS if not (out_dir / f"{s.name}.png").exists()]
    if missing:
        _render(missing, out_dir)
    return {s.name: cv2.imread(str(out_dir / f"{s.name}.png"), cv2.IMREAD_COLOR)[..., ::-1].copy() for s in SCREENS}


def _render(screens: list[Screen], out_dir: pathlib.Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for screen in screens:
            path = out_dir / f"{screen.name}.png"
            if screen.kind.startswith("flat:"):
                level = int(screen.kind.split(":")[1])
                img = np.full((screen.height * screen.scale, screen.width * screen.scale, 3), level, np.uint8)
                cv2.imwrite(str(path), img)
                continue
            context = browser.new_context(
                viewport={"width": screen.width, "height": screen.height}, device_scale_factor=screen.scale
            )
            page = context.new_page()
            page.set_content(_html(screen.kind, random.Random(screen.name)))
            page.screenshot(path=str(path), type="png")
            context.close()
        browser.close()


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _html(kind: str, rng: random.Random) -> str:
    body = {
        "document": _document,
        "code-light": lambda r: _code(r, dark=False),
        "code-dark": lambda r: _code(r, dark=True),
        "spreadsheet": _spreadsheet,
        "viewer": _viewer,
        "video": _video,
    }[kind](rng)
    return f"<!doctype html><html><head><meta charset='utf-8'></head>{body}</html>"


def _document(rng: random.Random) -> str:
    paras = "".join(f"<p>{' '.join(_sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(3, 6)))}</p>" for _ in range(14))
    rows = "".join(
        f"<tr><td>{rng.choice(WORDS).title()}</td><td>{rng.randint(100, 99999):,}</td><td>{rng.uniform(-9, 9):.1f}%</td></tr>"
        for _ in range(6)
    )
    return (
        "<body style='margin:0;background:#e9eaee;font-family:DejaVu Serif,serif'>"
        "<div style='height:40px;background:#2b579a;color:#fff;font:15px sans-serif;padding:10px 16px'>"
        "Q3 Strategy - CONFIDENTIAL.docx</div>"
        "<div style='width:60%;margin:18px auto;background:#fff;padding:48px 64px;box-shadow:0 0 6px #aaa'>"
        "<h1 style='font-size:26px'>Project Falcon: acquisition plan</h1>"
        f"{paras[:3000]}<table border=1 cellspacing=0 cellpadding=5 style='border-collapse:collapse'>{rows}</table>"
        f"{paras[3000:]}</div></body>"
    )


def _code(rng: random.Random, *, dark: bool) -> str:
    bg, fg, gutter, kw, st, cm = (
        ("#1e1e1e", "#d4d4d4", "#858585", "#569cd6", "#ce9178", "#6a9955")
        if dark
        else ("#ffffff", "#1f1f1f", "#999999", "#0000ff", "#a31515", "#008000")
    )
    lines = []
    for i in range(1, 90):
        indent = "&nbsp;" * 4 * rng.randint(0, 3)
        choice = rng.random()
        if choice < 0.15:
            text = f"<span style='color:{cm}'># {_sentence(rng, rng.randint(3, 8))}</span>"
        elif choice < 0.4:
            text = f"<span style='color:{kw}'>def</span> {rng.choice(WORDS)}_{rng.choice(WORDS)}(self, {rng.choice(WORDS)}):"
        else:
            text = f"{rng.choice(WORDS)} = <span style='color:{st}'>\"{rng.choice(WORDS)}\"</span> + {rng.choice(WORDS)}({rng.randint(0, 99)})"
        lines.append(f"<div><span style='color:{gutter};display:inline-block;width:48px'>{i}</span>{indent}{text}</div>")
    side = "#252526" if dark else "#f3f3f3"
    return (
        f"<body style='margin:0;background:{bg};color:{fg};font:14px/19px DejaVu Sans Mono,monospace;display:flex'>"
        f"<div style='width:240px;background:{side};height:100vh'></div><div style='padding:8px'>{''.join(lines)}</div></body>"
    )


def _spreadsheet(rng: random.Random) -> str:
    head = "".join(f"<th style='background:#f2f2f2;width:110px'>{chr(65 + c)}</th>" for c in range(20))
    rows = "".join(
        f"<tr><th style='background:#f2f2f2'>{r}</th>"
        + "".join(f"<td style='text-align:right'>{rng.uniform(0, 99999):,.2f}</td>" for _ in range(20))
        + "</tr>"
        for r in range(1, 60)
    )
    return (
        "<body style='margin:0;font:13px Liberation Sans,Arial,sans-serif'>"
        "<div style='height:60px;background:#217346'></div>"
        "<table cellspacing=0 style='border-collapse:collapse' border=1 bordercolor='#d4d4d4'>"
        f"<tr><th></th>{head}</tr>{rows}</table></body>"
    )


def _photo_uri(rng: random.Random) -> str:
    import skimage.data

    photo = rng.choice([skimage.data.astronaut, skimage.data.coffee, skimage.data.chelsea, skimage.data.rocket])()
    ok, data = cv2.imencode(".png", photo[..., ::-1])
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


def _viewer(rng: random.Random) -> str:
    return (
        "<body style='margin:0;background:#2d2d30;height:100vh;display:flex;flex-direction:column'>"
        "<div style='height:44px;background:#3c3c3c;color:#ddd;font:14px sans-serif;padding:12px'>photo.png - Image Viewer</div>"
        f"<div style='flex:1;display:flex;align-items:center;justify-content:center'><img src='{_photo_uri(rng)}' "
        "style='max-width:88%;max-height:88%;width:80%;object-fit:contain'></div></body>"
    )


def _video(rng: random.Random) -> str:
    return (
        "<body style='margin:0;background:#000;height:100vh;display:flex;flex-direction:column'>"
        f"<img src='{_photo_uri(rng)}' style='width:100%;flex:1;object-fit:cover;filter:contrast(1.1)'>"
        "<div style='height:56px;background:#111'><div style='width:37%;height:4px;background:#f00'></div></div></body>"
    )
