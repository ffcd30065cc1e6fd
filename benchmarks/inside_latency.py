"""How quickly notebook 05's tools answer, in a real JupyterLab and headless Chromium.

    python -m benchmarks.inside_latency [--checkpoint artifacts/checkpoints/best.pt] [--drawings 30]

Three figures, each from the page's side (a mouse-up or key press to the redrawn picture):

* pen-up to the layer view redrawn (every block's maps, the ten probabilities and the occlusion
  map), over ``--drawings`` digits drawn with the mouse: p50 and p95;
* a kernel value changed with the keyboard to the redrawn convolution: p50 and p95;
* a learning-rate run of 300 steps: the first curve point on screen, and the whole run.

Targets (the README's table gives them too): p50 <= 150 ms and p95 <= 300 ms; kernel edit p50
<= 100 ms; a 300-step run <= 5 s with its first point within 1 s. The report goes to
benchmarks/results/inside_latency.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from mnist_helpers.support.paths import project_root
from tests.slow.test_browser_canvas import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DIGITS,
    counter,
    run_all,
    start_lab,
    stroke,
    write_inside_notebook,
)

RESULTS = Path(__file__).resolve().parent / "results" / "inside_latency.md"


def jittered(points: list[tuple[float, float]], rng: random.Random) -> list[tuple[float, float]]:
    """A stroke moved and wobbled a little, so no two drawings are the same."""
    dx, dy = rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)
    return [
        (x + dx + rng.uniform(-0.01, 0.01), y + dy + rng.uniform(-0.01, 0.01)) for x, y in points
    ]


def wait_above(page, name: str, seen: int, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        f"(document.querySelector('.{name}')?.dataset.n ?? 0) > {seen}",
        polling="raf",
        timeout=timeout_ms,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(checkpoint: Path, drawings: int, lr_steps: int) -> dict[str, float]:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder, start_lab(Path(folder), checkpoint) as url:
        write_inside_notebook(Path(folder) / "root" / "inside.ipynb", checkpoint, lr_steps)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            run_all(page, url, "inside.ipynb")
            canvas = page.locator('[data-testid="canvas"]')
            canvas.wait_for(state="visible", timeout=120_000)
            page.locator(".lr-train").wait_for(timeout=120_000)
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            pen_up = []
            for index in range(drawings):
                seen = counter(page, "lv-updates")
                page.click('[data-testid="clear"]')
                wait_above(page, "lv-updates", seen)  # the view emptied: a fresh start
                strokes = DIGITS[list(DIGITS)[index % len(DIGITS)]]
                for points in strokes[:-1]:
                    stroke(page, box, jittered(points, rng))
                seen = counter(page, "lv-updates")
                answered = stroke(page, box, jittered(strokes[-1], rng))  # mouse-up to answer
                after = time.perf_counter()
                wait_above(page, "lv-updates", seen)  # then to the layer view redrawn
                pen_up.append(answered + time.perf_counter() - after)
                print(f"drawing {index + 1}: {1000 * pen_up[-1]:.0f} ms", flush=True)
            cell = page.locator(".kernel-cell input").nth(4)
            cell.scroll_into_view_if_needed()
            edits = []
            for index in range(30):
                seen = counter(page, "cp-updates")
                cell.focus()
                started = time.perf_counter()
                page.keyboard.press("ArrowUp" if index % 2 == 0 else "ArrowDown")
                wait_above(page, "cp-updates", seen)
                edits.append(time.perf_counter() - started)
            page.locator(".lr-train").scroll_into_view_if_needed()
            started = time.perf_counter()
            page.locator(".lr-train").click()
            wait_above(page, "lr-updates", 9)
            first_point = time.perf_counter() - started
            wait_above(page, "lr-updates", lr_steps - 1)
            whole_run = time.perf_counter() - started
            browser.close()
    return {
        "pen_up_p50_ms": 1000 * statistics.median(pen_up),
        "pen_up_p95_ms": 1000 * percentile(pen_up, 0.95),
        "drawings": drawings,
        "kernel_edit_p50_ms": 1000 * statistics.median(edits),
        "kernel_edit_p95_ms": 1000 * percentile(edits, 0.95),
        "lr_first_point_s": first_point,
        "lr_run_s": whole_run,
        "lr_steps": lr_steps,
    }


def report(figures: dict[str, float], machine: str) -> str:
    rows = [
        (
            "pen-up to the layer view redrawn, p50",
            f"{figures['pen_up_p50_ms']:.0f} ms",
            "<= 150 ms",
        ),
        (
            "pen-up to the layer view redrawn, p95",
            f"{figures['pen_up_p95_ms']:.0f} ms",
            "<= 300 ms",
        ),
        (
            "kernel edit to the redrawn output, p50",
            f"{figures['kernel_edit_p50_ms']:.0f} ms",
            "<= 100 ms",
        ),
        ("kernel edit to the redrawn output, p95", f"{figures['kernel_edit_p95_ms']:.0f} ms", ""),
        (
            "learning-rate run: first point on screen",
            f"{figures['lr_first_point_s']:.2f} s",
            "<= 1 s",
        ),
        (
            f"learning-rate run: all {figures['lr_steps']:.0f} steps",
            f"{figures['lr_run_s']:.2f} s",
            "<= 5 s",
        ),
    ]
    lines = [
        "# Notebook 05's tools: latency in JupyterLab and headless Chromium",
        "",
        f"`python -m benchmarks.inside_latency` on {machine}; {figures['drawings']:.0f} drawings, "
        "30 kernel edits, one learning-rate run.",
        "",
        "| figure | measured | target |",
        "| --- | --- | --- |",
        *[f"| {name} | {value} | {target} |" for name, value, target in rows],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", type=Path, default=project_root() / "artifacts/checkpoints/best.pt"
    )
    parser.add_argument("--drawings", type=int, default=30)
    parser.add_argument("--lr-steps", type=int, default=300)
    args = parser.parse_args()
    figures = measure(args.checkpoint, args.drawings, args.lr_steps)
    cores = len(os.sched_getaffinity(0))
    machine = f"{platform.machine()} {platform.system()}, {cores} CPU cores"
    text = report(figures, machine)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
