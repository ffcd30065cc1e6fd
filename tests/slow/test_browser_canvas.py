"""Draw on DigitCanvas with a real mouse in JupyterLab (headless Chromium) and read the answers.

Digits are read as digits; a dot and a zig-zag are not; the threshold works from the keyboard
without the keys reaching JupyterLab; another cell's ``predict_image`` never shows in the widget.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_S = 60
KERNEL_READY_MS = 90_000  # kernel start, torch import and checkpoint load, on a busy CI machine
ANSWER_MS = 15_000  # from the end of a stroke to the prediction on the page

ROOT = '[data-testid="digit-canvas"]'
Point = tuple[float, float]  # (x, y) as fractions of the canvas side

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def write_settings(settings_dir: Path) -> None:
    """JupyterLab settings that keep the test deterministic and offline."""
    settings = {
        # JupyterLab 4's windowing detaches outputs scrolled off screen; render everything.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        # No news or update checks (no network here) and no toast over the page.
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, values in settings.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


HEADING = "# Draw a digit"  # a section JupyterLab's arrow keys could collapse
CANVAS_CELL = """
from mnist_helpers.apps.canvas import DigitCanvas

canvas = DigitCanvas.from_checkpoint({checkpoint!r})
canvas
"""
# Another cell asks the canvas about an image: the answer must not appear in the widget.
OTHER_CELL = """
from PIL import Image, ImageDraw

seven = Image.new("RGBA", (280, 280))  # a "7" on a transparent canvas
ImageDraw.Draw(seven).line([(70, 50), (210, 50), (120, 230)], fill="black", width=20)
print("from another cell:", canvas.predict_image(seven).status)
"""


def write_notebook(path: Path, checkpoint: Path) -> None:
    cells = [
        nbformat.v4.new_markdown_cell(HEADING),
        nbformat.v4.new_code_cell(CANVAS_CELL.format(checkpoint=str(checkpoint)).strip()),
        nbformat.v4.new_code_cell(OTHER_CELL.strip()),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (install Debian's chromium, see tools/ensure_chromium.py)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


INSIDE_CELLS = [
    """
from mnist_helpers.apps.canvas import DigitCanvas
from mnist_helpers.apps.layer_view import LayerView

canvas = DigitCanvas.from_checkpoint({checkpoint!r})
view = LayerView(canvas)
display(canvas, view)
""",
    """
from mnist_helpers.apps.convolution_widget import ConvolutionPlayground
from mnist_helpers.data import load_mnist, normalize_images

test = load_mnist(train=False)
playground = ConvolutionPlayground(normalize_images(test.images[:10]))
playground
""",
    """
from mnist_helpers.apps.learning_rate_lab import LearningRateLab
from mnist_helpers.loaders import TensorBatches

batches = TensorBatches(normalize_images(test.images[:640]), test.labels[:640], 64, shuffle=True)
lab = LearningRateLab(view.model.config, batches, steps={lr_steps})
lab
""",
]


def write_inside_notebook(path: Path, checkpoint: Path, lr_steps: int = 30) -> None:
    """Notebook 05's three tools, bound to the trained checkpoint."""
    cells = [nbformat.v4.new_markdown_cell("# Inside")] + [
        nbformat.v4.new_code_cell(
            cell.format(checkpoint=str(checkpoint), lr_steps=lr_steps).strip()
        )
        for cell in INSIDE_CELLS
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


@contextlib.contextmanager
def start_lab(folder: Path, checkpoint: Path) -> Iterator[str]:
    """A JupyterLab server rooted in ``folder/root`` holding canvas.ipynb and inside.ipynb
    (notebook 05's tools); stopped, with its kernels, on leaving.

    Nothing it listens on can be taken by another process first: the server binds a port the
    system picks (port 0) and says which in its runtime file, and its kernels listen on socket
    files (as every kernel of the suite does; mnist_helpers/support/socket_kernels.py).
    """
    tmp_path = folder  # as the fixture names it
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "canvas.ipynb", checkpoint)
    write_inside_notebook(root / "inside.ipynb", checkpoint)
    write_settings(tmp_path / "settings")
    # The kernels' socket files are named after their connection files in the runtime folder: a
    # short folder keeps those names within the ~100 bytes a socket path may have.
    runtime = Path(tempfile.mkdtemp(prefix="lab-"))
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(runtime),
    )
    env.setdefault("OMP_NUM_THREADS", "1")  # one digit at a time needs no thread pool
    log_path = tmp_path / "jupyter.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0", f"--ServerApp.root_dir={root}", "--KernelManager.transport=ipc",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI runners often run as root
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = _wait_for_lab(server, runtime / f"jpserver-{server.pid}.json", log_path)
        yield url
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)


def _wait_for_lab(server: subprocess.Popen[bytes], runtime_file: Path, log_path: Path) -> str:
    """The server's URL once it answers (its port read from its runtime file)."""
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            url = f"http://127.0.0.1:{json.loads(runtime_file.read_text())['port']}"
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                return url
        except (OSError, ValueError, KeyError):  # not written yet, half written, not answering
            if server.poll() is not None or time.monotonic() > deadline:
                log_tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"JupyterLab did not start:\n{log_tail}") from None
            time.sleep(0.3)


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory: pytest.TempPathFactory, trained_checkpoint: Path) -> Iterator[str]:
    """The JupyterLab of ``start_lab`` for this module's tests."""
    with start_lab(tmp_path_factory.mktemp("lab"), trained_checkpoint) as url:
        yield url


@contextlib.contextmanager
def browser_page(chromium_path: str, height: int, failure_shot: Path) -> Iterator[Page]:
    """A page of headless Chromium, 1280 pixels wide; if the test fails inside, a screenshot of
    the page is kept at ``failure_shot``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": height})
        page.set_default_timeout(30_000)
        try:
            yield page
        except Exception:
            page.screenshot(path=str(failure_shot))
            raise
        finally:
            browser.close()


def wait_for_kernel(url: str, timeout_s: float) -> None:
    """Wait until the page's kernel is idle and connected: Run All before that asks for a kernel."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/kernels", timeout=5) as response:
                kernels = json.load(response)
        except OSError:  # the server may answer 500 while an earlier page's kernel shuts down
            kernels = []
        if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
            return
        time.sleep(0.3)
    pytest.fail(f"no kernel connected and idle within {timeout_s:.0f} s")


def run_all(page, url: str, path: str) -> None:
    """Open the notebook at ``path`` (JupyterLab's ``lab/tree/NAME?reset``, with no tabs of an
    earlier page, or Notebook 7's ``notebooks/NAME``) and run all its cells from the menu, as a
    person would."""
    page.goto(f"{url}/{path}", timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    wait_for_kernel(url, KERNEL_READY_MS / 1000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def open_canvas(page, url: str) -> dict[str, float]:
    """Open canvas.ipynb, run all cells from the menu, and return the canvas's bounding box."""
    run_all(page, url, "lab/tree/canvas.ipynb?reset")
    canvas = page.locator('[data-testid="canvas"]')
    canvas.wait_for(state="visible", timeout=KERNEL_READY_MS)
    # The last cell has run once its print shows.
    page.locator(".jp-OutputArea-output", has_text="from another cell:").wait_for(
        timeout=KERNEL_READY_MS
    )
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def notebook_state(page) -> dict[str, int]:
    """What JupyterLab's command-mode keys would change: cells, the active one, collapsed ones."""
    return page.evaluate(
        """() => {
            const cells = [...document.querySelectorAll(".jp-Notebook .jp-Cell")];
            return {
                cells: cells.length,
                active: cells.findIndex((cell) => cell.classList.contains("jp-mod-active")),
                shown: cells.filter((cell) => cell.offsetParent !== null).length,
                collapsed: document.querySelectorAll(
                    ".jp-Notebook .jp-collapseHeadingButton.jp-mod-collapsed"
                ).length,
            };
        }"""
    )


def status_of(page) -> str:
    return page.get_attribute(ROOT, "data-status")


def updates(page) -> int:
    """How many answers the widget has rendered so far."""
    return int(page.get_attribute(ROOT, "data-updates"))


def stroke(page, box: dict[str, float], points: list[Point]) -> float:
    """Drag the mouse through ``points`` in small steps; return seconds from mouse-up to answer."""
    side = box["width"]

    def at(point: Point) -> tuple[float, float]:
        return box["x"] + point[0] * side, box["y"] + point[1] * side

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for previous, point in itertools.pairwise(points):
        distance = math.dist(previous, point) * side
        page.mouse.move(*at(point), steps=max(1, round(distance / 4)))  # one move per ~4 px
    before = updates(page)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function(
        f"document.querySelector('{ROOT}').dataset.updates > {before}",
        polling="raf",
        timeout=ANSWER_MS,
    )
    return time.perf_counter() - start


def ellipse(center: Point, radii: Point, count: int = 40) -> list[Point]:
    """``count`` points round an ellipse, starting at the top and closing the loop."""
    angles = [2 * math.pi * i / count for i in range(count + 1)]
    return [
        (center[0] + radii[0] * math.sin(a), center[1] - radii[1] * math.cos(a)) for a in angles
    ]


DIGITS: dict[int, list[list[Point]]] = {
    1: [[(0.52, 0.15), (0.48, 0.85)]],
    7: [[(0.25, 0.18), (0.75, 0.18)], [(0.75, 0.18), (0.45, 0.85)]],
    0: [ellipse((0.5, 0.5), (0.22, 0.34))],
}


# Not digits: one click, and a zig-zag over the whole canvas.
DOT: list[Point] = [(0.5, 0.5)]
ZIGZAG: list[Point] = [(0.05 + 0.9 * (i % 2), 0.05 + 0.9 * i / 9) for i in range(10)]


def clear(page) -> None:
    page.click('[data-testid="clear"]')
    page.wait_for_selector(f'{ROOT}[data-status="blank"]', timeout=ANSWER_MS)
    assert page.text_content('[data-testid="digit"]') == "–"


def draw_and_read(page, box: dict[str, float], digit: int, screenshot: Path) -> float:
    """Draw ``digit``, check the page reads it, screenshot the widget; return the latency."""
    latencies = [stroke(page, box, points) for points in DIGITS[digit]]
    shown = page.text_content('[data-testid="digit"]')
    status = page.text_content('[data-testid="status"]')
    page.locator(ROOT).screenshot(path=str(screenshot))
    print(f"drew {digit}: page shows {shown!r} ({status}); answer {latencies[-1] * 1000:.0f} ms")
    assert shown == str(digit), f"drew {digit}, the page says {shown!r} ({status})"
    assert status_of(page) == "digit", f"drew {digit}, the page says {status!r}"
    assert page.text_content('[data-testid="badge"]') == ""
    assert page.locator('[data-testid="bar"]').count() == 10  # all ten digits
    assert answer_beside_canvas(page)
    src = page.get_attribute('[data-testid="model-input"]', "src")
    assert src.startswith("data:image/png;base64,")
    return latencies[-1]


def answer_beside_canvas(page) -> bool:
    """Whether the answer panel sits to the right of the canvas (not wrapped below it)."""
    canvas = page.locator('[data-testid="canvas"]').bounding_box()
    answer = page.locator(".dc-answer").bounding_box()
    return answer["x"] >= canvas["x"] + canvas["width"] and answer["y"] < canvas["y"] + 40


def draw_non_digit(page, box: dict[str, float], name: str, points: list[Point], shot: Path) -> None:
    """Draw something that is not a digit; the page must not show it as a confident digit."""
    stroke(page, box, points)
    assert answer_beside_canvas(page), "the answer panel moved below the canvas"
    shown = page.text_content('[data-testid="digit"]')
    status = page.text_content('[data-testid="status"]')
    page.locator(ROOT).screenshot(path=str(shot))
    print(f"drew {name}: page shows {shown!r} ({status}), status {status_of(page)!r}")
    assert status_of(page) in ("unsure", "not_a_digit"), f"{name} reads as a digit: {status!r}"
    assert page.text_content('[data-testid="badge"]') != ""


def press_on_threshold(page, keys: list[str]) -> str:
    """Press ``keys`` on the focused threshold control; return the value it then shows."""
    threshold = page.locator('[data-testid="unsure-below"]')
    threshold.focus()
    assert page.evaluate("document.activeElement.dataset.testid") == "unsure-below"
    for key in keys:
        page.keyboard.press(key)
    return threshold.input_value()


def candidates(page) -> list[str]:
    """The digits of the bars at 10 % or more (the first always): what an unsure answer offers."""
    rows = page.locator('[data-testid="bar"]')
    bars = [
        (
            rows.nth(i).get_attribute("data-digit"),
            float(rows.nth(i).get_attribute("data-probability")),
        )
        for i in range(rows.count())
    ]
    return [digit for i, (digit, probability) in enumerate(bars) if i == 0 or probability >= 0.1]


def wait_for_answer_read_with(page, value: str) -> None:
    """Wait until the page shows the answer Python read with threshold ``value``."""
    page.wait_for_selector(f'{ROOT}[data-unsure-below="{float(value):g}"]', timeout=ANSWER_MS)


def check_threshold_keys(page, screenshot: Path) -> None:
    """Keys move the threshold and reach Python, which relabels; the notebook does not see them."""
    # Focus first: Notebook 7 makes the cell holding the focus the active one, which is not a key.
    page.locator('[data-testid="unsure-below"]').focus()
    notebook_before = notebook_state(page)
    start = float(page.locator('[data-testid="unsure-below"]').input_value())
    step = float(page.get_attribute('[data-testid="unsure-below"]', "step"))
    value = press_on_threshold(page, ["ArrowLeft", "ArrowLeft", "ArrowDown", "ArrowUp"])
    assert float(value) == pytest.approx(start - 2 * step)
    assert page.text_content(".dc-threshold-value") == f"{start - 2 * step:.2f}"
    wait_for_answer_read_with(page, value)  # Python got the value and relabelled the drawing
    value = press_on_threshold(page, ["End", "ArrowRight"])
    assert float(value) == 1.0
    wait_for_answer_read_with(page, value)
    assert notebook_state(page) == notebook_before, "the keys reached the notebook"
    # Nothing is that sure, so the drawing reads "unsure" (unless float32 rounded it to 1.0).
    if page.text_content('[data-testid="bar"] .dc-bar-value') != "100%":
        assert status_of(page) == "unsure"
    if status_of(page) == "unsure":
        assert page.text_content('[data-testid="badge"]') == "unsure"
        assert page.text_content('[data-testid="digit"]') == " or ".join(candidates(page))
    page.locator(ROOT).screenshot(path=str(screenshot))
    value = press_on_threshold(page, ["ArrowLeft"] * round((1.0 - start) / step))
    assert float(value) == pytest.approx(start)
    wait_for_answer_read_with(page, value)
    assert notebook_state(page) == notebook_before, "the keys reached the notebook"


def check_undo(page, box: dict[str, float], last_stroke: list[Point]) -> None:
    """Undo takes the last stroke away and answers again; drawing it again gives the digit back."""
    before = updates(page)
    page.click('[data-testid="undo"]')
    page.wait_for_function(
        f"document.querySelector('{ROOT}').dataset.updates > {before}", timeout=ANSWER_MS
    )
    without = page.text_content('[data-testid="digit"]')
    assert without != "7", "undo left the 7 as it was"
    stroke(page, box, last_stroke)
    assert page.text_content('[data-testid="digit"]') == "7"


def check_number_mode(page, box: dict[str, float], screenshot: Path) -> None:
    """Ticked, the canvas reads a 1 and a 0 written side by side as the number 10."""
    page.check('[data-testid="number-mode"]')
    # Each digit at half size, one in the left half of the canvas and one in the right.
    one = [[(0.5 * x, 0.25 + 0.5 * y) for x, y in points] for points in DIGITS[1]]
    zero = [[(0.5 + 0.5 * x, 0.25 + 0.5 * y) for x, y in points] for points in DIGITS[0]]
    for points in one + zero:
        stroke(page, box, points)
    page.locator(ROOT).screenshot(path=str(screenshot))
    shown = page.text_content('[data-testid="digit"]')
    status = page.text_content('[data-testid="status"]')
    assert shown == "10", f"wrote 1 and 0, the page says {shown!r} ({status})"
    assert page.get_attribute(ROOT, "data-number") == "true"
    width = page.evaluate("document.querySelector('[data-testid=\"model-input\"]').naturalWidth")
    assert width == 2 * 28  # both digits' 28 x 28 inputs, side by side
    assert page.text_content(".dc-caption") == "what the model sees (28 × 28 per digit)"
    page.uncheck('[data-testid="number-mode"]')


@pytest.mark.timeout(240, func_only=True)  # the checkpoint fixture may train first
def test_drawn_digits_are_read_in_jupyterlab(
    chromium_path: str, lab_url: str, test_output_dir: Path
) -> None:
    with browser_page(chromium_path, 900, test_output_dir / "canvas_failure.png") as page:
        box = open_canvas(page, lab_url)
        # The other cell's predict_image did not answer in the widget.
        assert page.text_content('[data-testid="status"]') == "draw a digit first"
        assert status_of(page) == "blank"
        latencies = {}
        for digit in DIGITS:
            shot = test_output_dir / f"canvas_{digit}.png"
            latencies[digit] = draw_and_read(page, box, digit, shot)
            if digit == 7:
                check_threshold_keys(page, test_output_dir / "canvas_threshold_1.png")
                check_undo(page, box, DIGITS[7][-1])
            clear(page)
        for name, points in (("a dot", DOT), ("a zig-zag", ZIGZAG)):
            shot = test_output_dir / f"canvas_{name.split()[-1]}.png"
            draw_non_digit(page, box, name, points, shot)
            clear(page)
        check_number_mode(page, box, test_output_dir / "canvas_number.png")
    shown = ", ".join(f"{digit}: {seconds * 1000:.0f} ms" for digit, seconds in latencies.items())
    print(f"stroke end to prediction shown: {shown}")


def counter(page, name: str) -> int:
    """The ``data-n`` of a tool's update counter (0 before its first update)."""
    found = page.locator(f".{name}")
    return int(found.first.get_attribute("data-n") or 0) if found.count() else 0


def wait_for_counter(page, name: str, above: int) -> None:
    page.wait_for_function(
        f"(document.querySelector('.{name}')?.dataset.n ?? 0) > {above}",
        polling="raf",
        timeout=ANSWER_MS,
    )


def train_and_wait_for_the_run(page) -> None:
    """Press the learning-rate lab's Train and wait until its 30-step run has been drawn."""
    page.locator(".lr-train").click()
    page.wait_for_function(
        "(document.querySelector('.lr-updates')?.dataset.n ?? 0) >= 30",
        polling="raf",
        timeout=60_000,
    )


def sources(page, selector: str) -> list[str]:
    """The ``src`` of every image ``selector`` finds."""
    images = page.locator(selector)
    return [images.nth(i).get_attribute("src") or "" for i in range(images.count())]


@pytest.mark.timeout(300, func_only=True)
def test_the_inside_tools_answer_the_mouse_and_the_keyboard_in_jupyterlab(
    chromium_path: str, lab_url: str, test_output_dir: Path
) -> None:
    with browser_page(chromium_path, 1000, test_output_dir / "inside_failure.png") as page:
        run_all(page, lab_url, "lab/tree/inside.ipynb?reset")
        canvas = page.locator('[data-testid="canvas"]')
        canvas.wait_for(state="visible", timeout=KERNEL_READY_MS)
        page.locator(".lr-train").wait_for(timeout=KERNEL_READY_MS)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        # 1. A 7, stroke by stroke: all maps and the occlusion map appear, then change.
        first_stroke, second_stroke = DIGITS[7]
        stroke(page, box, first_stroke)
        wait_for_counter(page, "lv-updates", 0)
        after_one = sources(page, ".mnist-layer-view img")
        assert len(after_one) == 4 and all(after_one), after_one  # 3 blocks + occlusion
        seen = counter(page, "lv-updates")
        stroke(page, box, second_stroke)
        wait_for_counter(page, "lv-updates", seen)
        after_two = sources(page, ".mnist-layer-view img")
        assert all(a != b for a, b in zip(after_one, after_two, strict=True))
        page.locator(".mnist-layer-view").screenshot(path=str(test_output_dir / "inside_7.png"))
        notebook_before = notebook_state(page)
        # 2. A kernel value edited with the keyboard redraws the convolution.
        cell = page.locator(".kernel-cell input").nth(4)
        cell.scroll_into_view_if_needed()
        picture = sources(page, "img.conv-output")
        seen = counter(page, "cp-updates")
        cell.focus()
        page.keyboard.press("ArrowUp")
        wait_for_counter(page, "cp-updates", seen)
        assert sources(page, "img.conv-output") != picture
        # 3. The learning-rate control moved with the keyboard, then a run drawn.
        handle = page.locator(".lr-slider .noUi-handle")
        handle.focus()
        page.keyboard.press("ArrowRight")
        train_and_wait_for_the_run(page)
        assert page.locator(".lr-updates").get_attribute("data-lr") != "0.1"  # moved
        assert sources(page, "img.lr-picture") != [""]
        assert notebook_state(page) == notebook_before, "the keys reached the notebook"
        page.screenshot(path=str(test_output_dir / "inside_tools.png"), full_page=True)


def check_kernel_restart(page, box: dict[str, float], screenshot: Path) -> None:
    """After a kernel restart the canvas cannot answer: it must say so, not look alive."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel")).first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_timeout(3000)  # the old kernel is gone and the widget's connection with it
    page.locator('[data-testid="clear"]').click()  # wipes at once, in the page
    points = DIGITS[1][0]
    side = box["width"]
    page.mouse.move(box["x"] + points[0][0] * side, box["y"] + points[0][1] * side)
    page.mouse.down()
    page.mouse.move(box["x"] + points[1][0] * side, box["y"] + points[1][1] * side, steps=20)
    page.mouse.up()
    page.wait_for_selector(f'{ROOT}[data-status="no-answer"]', timeout=20_000)
    assert "run this cell again" in page.text_content('[data-testid="status"]')
    assert page.text_content('[data-testid="digit"]') == "–"  # the old answer is taken down
    assert page.locator('[data-testid="bar"]').count() == 0
    page.locator(ROOT).screenshot(path=str(screenshot))


@pytest.mark.timeout(240, func_only=True)
def test_in_notebook_7_the_canvas_reads_and_its_keys_stay_in_the_widget(
    chromium_path: str, lab_url: str, test_output_dir: Path
) -> None:
    with browser_page(chromium_path, 900, test_output_dir / "notebook7_failure.png") as page:
        run_all(page, lab_url, "notebooks/canvas.ipynb")  # Notebook 7
        canvas = page.locator('[data-testid="canvas"]')
        canvas.wait_for(state="visible", timeout=KERNEL_READY_MS)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        draw_and_read(page, box, 7, test_output_dir / "notebook7_canvas_7.png")
        check_threshold_keys(page, test_output_dir / "notebook7_threshold.png")
        check_kernel_restart(page, box, test_output_dir / "notebook7_restarted.png")


@pytest.mark.timeout(240, func_only=True)
def test_in_notebook_7_the_inside_tools_take_their_keys(
    chromium_path: str, lab_url: str, test_output_dir: Path
) -> None:
    failure = test_output_dir / "notebook7_inside_failure.png"
    with browser_page(chromium_path, 1000, failure) as page:
        run_all(page, lab_url, "notebooks/inside.ipynb")  # Notebook 7
        page.locator(".lr-train").wait_for(timeout=KERNEL_READY_MS)
        # A kernel value with the keyboard: focus first (Notebook 7 activates that cell).
        cell = page.locator(".kernel-cell input").nth(4)
        cell.scroll_into_view_if_needed()
        cell.focus()
        notebook_before = notebook_state(page)
        seen = counter(page, "cp-updates")
        for key in ("ArrowUp", "ArrowDown", "ArrowUp"):
            page.keyboard.press(key)
        wait_for_counter(page, "cp-updates", seen)
        assert float(cell.input_value()) == 0.5  # 0 + 0.5 - 0.5 + 0.5
        # The learning-rate slider with the keyboard.
        box = page.locator(".lr-box input")  # Notebook 7: the rate typed in its box
        box.focus()
        box.fill("0.3")
        page.keyboard.press("Tab")
        train_and_wait_for_the_run(page)
        assert page.locator(".lr-updates").get_attribute("data-lr") != "0.1"
        after = notebook_state(page)
        assert after["cells"] == notebook_before["cells"]
        assert after["collapsed"] == notebook_before["collapsed"]
        page.screenshot(path=str(test_output_dir / "notebook7_inside.png"), full_page=True)
