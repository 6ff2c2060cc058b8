#!/usr/bin/env python3
"""Open the HTML leaderboard in headless Chromium, save screenshots, and fail on anything that did not load.

    python scripts/screenshot_report.py REPORTS_DIR OUT.png [--page DATASET] [--all-pages]

REPORTS_DIR is a reports folder (its ``html/`` is used) or the ``html/`` folder itself. Writes OUT.png (the
index, 1400 x 1000) and OUT-<dataset>.png (a dataset page: --page, else the first one the index links to).

Checks, any failure exits 1 (2: usage, or no Chromium):
1. every page under html/ (static): each <img src> is a local file that exists and is a valid SVG (parses as
   XML with an <svg> root) or PNG (its signature); no script, stylesheet or image is loaded from the network
   (http://, https://, //); every local link to a page, CSV or Markdown file exists;
2. in the browser, for the index and the dataset page: ``chromium --dump-dom`` after the load event must show
   the page's own check (``<body data-images="ok">``: every <img> complete with a non-zero natural width),
   and Chromium's log (``--enable-logging=stderr``) must show no failed resource load (net::ERR_..., "Failed
   to load resource") and no script error on the page (a console "Uncaught ..."); then ``--screenshot`` must
   write a PNG. (Chromium does not log a missing file:// image, so the page's own check is what catches that.)

Chromium: --chromium PATH, $CHROMIUM, or the first of chromium, chromium-browser, google-chrome on PATH.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

PNG_SIG = b"\x89PNG\r\n\x1a\n"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# what Chromium's log (--enable-logging=stderr) says about a resource that did not load, or a script error on
# the page (console messages are logged as "INFO:CONSOLE(...)": "Uncaught ReferenceError: ...")
LOG_FAILURE = re.compile(r"net::ERR_[A-Z_]+|Failed to load resource|Not allowed to load local resource", re.I)
CONSOLE_ERROR = re.compile(r":CONSOLE.*(Uncaught|Error|Failed to load)", re.I)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if v is not None and k in ("src", "href", "srcset", "data", "poster"):
                self.refs.append((tag, k, v))


def _external(url: str) -> bool:
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//", "ftp://"))


def valid_image(path: Path) -> str:
    """'' when ``path`` is a valid SVG or PNG, else why not."""
    if not path.is_file():
        return "does not exist"
    data = path.read_bytes()
    if not data:
        return "is empty"
    if path.suffix.lower() == ".png" or data.startswith(PNG_SIG):
        return "" if data.startswith(PNG_SIG) else "is not a PNG (bad signature)"
    if path.suffix.lower() == ".svg":
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            return f"is not valid SVG/XML ({e})"
        return "" if root.tag.split("}")[-1] == "svg" else f"is XML but not SVG (root <{root.tag}>)"
    return "is neither SVG nor PNG"


def static_check(html_dir: Path) -> list[str]:
    """Problems of every page under ``html_dir`` (see the module docstring, check 1)."""
    errors = []
    pages = sorted(html_dir.glob("*.html"))
    if not pages:
        return [f"{html_dir}: no .html pages"]
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        n_img = 0
        for tag, attr, value in parser.refs:
            where = f"{page.name}: <{tag} {attr}={value!r}>"
            if tag in ("img", "script", "link", "source", "iframe", "embed", "object", "video", "audio"):
                if _external(value):
                    errors.append(f"{where} loads from the network")
                    continue
            if tag == "a" and _external(value):
                continue  # an outgoing link loads nothing
            parts = urlsplit(value)
            if parts.scheme in ("data", "mailto", "javascript") or not parts.path:
                continue
            if parts.scheme not in ("", "file"):
                errors.append(f"{where}: unexpected scheme {parts.scheme}")
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if tag == "img" or (tag in ("source", "embed", "object") and attr in ("src", "data")):
                n_img += 1
                why = valid_image(target)
                if why:
                    errors.append(f"{where}: image {target} {why}")
            elif not target.exists():
                errors.append(f"{where}: {target} does not exist")
        if page.name == "index.html" and n_img == 0 and "No records yet" not in page.read_text(encoding="utf-8"):
            errors.append(f"{page.name}: no images at all")
    return errors


def find_chromium(explicit: str | None = None) -> str | None:
    for c in [explicit, os.environ.get("CHROMIUM")] + [shutil.which(b) for b in BROWSERS]:
        if c and Path(c).is_file():
            return c
    return None


def _chromium(browser: str, url: str, extra: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="zsar-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", *extra, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def browser_check(browser: str, page: Path, timeout: float = 90) -> list[str]:
    """Load ``page`` in Chromium: the page's image self-check and Chromium's log of failed loads (check 2)."""
    url = page.resolve().as_uri()
    r = _chromium(browser, url, ["--enable-logging=stderr", "--dump-dom"], timeout)
    errors = []
    if r.returncode != 0:
        errors.append(f"{page.name}: chromium --dump-dom exited {r.returncode}: {r.stderr.strip()[-500:]}")
    m = re.search(r"<body[^>]*\bdata-images=\"([^\"]*)\"", r.stdout)
    if not m:
        errors.append(f"{page.name}: the page did not load or its image check did not run (no data-images on <body>)")
    elif m.group(1) != "ok":
        broken = re.search(r"\bdata-broken-images=\"([^\"]*)\"", r.stdout)
        errors.append(f"{page.name}: images failed to load in the browser: {broken.group(1) if broken else '?'}")
    for line in r.stderr.splitlines():
        if CONSOLE_ERROR.search(line) or LOG_FAILURE.search(line):
            errors.append(f"{page.name}: chromium log: {line.strip()[:300]}")
    return errors


def screenshot(browser: str, page: Path, out: Path, size: str = "1400,1000", timeout: float = 90) -> list[str]:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    r = _chromium(browser, page.resolve().as_uri(), [f"--screenshot={out.resolve()}", f"--window-size={size}"],
                  timeout)
    if r.returncode != 0:
        return [f"{page.name}: chromium --screenshot exited {r.returncode}: {r.stderr.strip()[-500:]}"]
    why = valid_image(out)
    return [f"{page.name}: screenshot {out} {why}"] if why else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports_dir", type=Path, help="a reports folder (its html/) or the html/ folder")
    ap.add_argument("out", type=Path, help="screenshot of the index (PNG); the dataset page goes to OUT-<dataset>.png")
    ap.add_argument("--page", help="dataset page to open besides the index (default: the first one)")
    ap.add_argument("--all-pages", action="store_true", help="load every page in the browser, not just two")
    ap.add_argument("--chromium", help="browser binary")
    ap.add_argument("--window-size", default="1400,1000")
    ap.add_argument("--no-static", action="store_true", help="skip the file checks (browser checks only)")
    ap.add_argument("--timeout", type=float, default=90, help="seconds per browser launch")
    a = ap.parse_args(argv)

    html_dir = a.reports_dir / "html" if (a.reports_dir / "html" / "index.html").is_file() else a.reports_dir
    index = html_dir / "index.html"
    if not index.is_file():
        print(f"error: no html/index.html under {a.reports_dir}", file=sys.stderr)
        return 1
    browser = find_chromium(a.chromium)
    if browser is None:
        print("error: no Chromium found (apt-get install chromium, or pass --chromium PATH)", file=sys.stderr)
        return 2
    errors = [] if a.no_static else static_check(html_dir)
    others = sorted(p for p in html_dir.glob("*.html") if p.name != "index.html")
    if a.page:
        chosen = html_dir / f"{a.page}.html"
        if not chosen.is_file():
            print(f"error: no page {chosen}", file=sys.stderr)
            return 1
        others = [chosen] + [p for p in others if p != chosen]
    to_load = [index] + (others if a.all_pages else others[:1])
    try:
        for page in to_load:
            errors += browser_check(browser, page, a.timeout)
        shots = [(index, a.out)] + ([(others[0], a.out.with_name(f"{a.out.stem}-{others[0].stem}{a.out.suffix}"))]
                                    if others else [])
        for page, out in shots:
            errors += screenshot(browser, page, out, a.window_size, a.timeout)
            if out.is_file():
                print(f"screenshot: {out}")
    except subprocess.TimeoutExpired as e:
        errors.append(f"chromium did not finish in {e.timeout:.0f} s: {' '.join(map(str, e.cmd))[-200:]}")
    if errors:
        print(f"FAILED: {len(errors)} problem(s)", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        return 1
    print(f"ok: {len(list(html_dir.glob('*.html')))} page(s) checked on disk, {len(to_load)} loaded in {browser}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
