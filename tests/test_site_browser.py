"""The site in a real browser: headless Chromium from Debian's `chromium` package, driven by
Playwright, on the site of the fixture technique after a smoke run.

Every page reachable from the front page is opened from disk; the test fails on a console error,
a request that leaves the disk, an image that does not load, or an internal link (or anchor) that
leads nowhere, checks that a `<script>` planted in technique.toml, a notebook, compat.json and a
results row shows as text and never runs, and downloads a kept model from its row. With TUTORIAL_GEN_SCREENSHOT=PATH it saves the front
page there (`make screenshot` writes the README's docs/site-front.png).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import FIXTURE
from tutorial_gen.cli import main
from tutorial_gen.model import CompatCell, CompatFile, CompatStatus, StackRun

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine: `apt-get install chromium` (`make test` installs it "
    "where apt-get is usable)",
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: `pip install -e '.[dev]'`"
)

PLANTED = "<script>window.planted = 1</script>"
KINDS = [
    "index.html",
    "tiny/index.html",
    "tiny/claims.html",
    "tiny/compat.html",
    "tiny/models.html",
    "tiny/tiny.html",
]
MODEL = b"\x1c\x00\x00\x00TFL3\x00\x00\x12\x00"  # the model the first sweep row measured (binary)


def _keep_a_model(root: Path) -> None:
    """The sweep's first row names a model this build keeps (with a <script> in its
    configuration), its second one a model it does not."""
    path = root / "notebooks" / "tiny" / "results" / "full.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    first, second = results["notebooks"]["sweep"]["metrics"]["results_rows"][:2]
    first.update(tflite_file="square 2.tflite", tflite_sha256=hashlib.sha256(MODEL).hexdigest())
    first["config"] += f" {PLANTED}"
    second.update(tflite_file="square_3.tflite", tflite_sha256="0" * 64)
    path.write_text(json.dumps(results), encoding="utf-8")
    kept = root / "build" / "models" / "tiny" / "sweep"
    kept.mkdir(parents=True)
    (kept / "square 2.tflite").write_bytes(MODEL)


def _plant(root: Path) -> None:
    """A <script> in the technique's name, descriptor and a published figure, in a notebook's
    prose, and in an error of the compatibility matrix."""
    toml = root / "notebooks" / "tiny" / "technique.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('name = "Squaring"', f'name = "Squaring {PLANTED}"')
    text = text.replace('descriptor = "Square', f'descriptor = "{PLANTED} Square')
    toml.write_text(text.replace('"4x (fixture)"', f'"4x {PLANTED}"'), encoding="utf-8")
    script = root / "notebooks" / "tiny" / "tiny.py"
    text = script.read_text(encoding="utf-8")
    script.write_text(text.replace("when they start at 4.", f"when they start at 4. {PLANTED}"))
    cell = CompatCell(CompatStatus.FAIL, 1.0, f"ImportError: {PLANTED}", 12)
    stacks = {
        "old": StackRun({"tensorflow": "2.16.2"}, True, True, None, "2026-12-01", {"tiny": cell}),
        "new": StackRun(
            {"tensorflow": "2.21.0"},
            True,
            True,
            None,
            "2026-12-01",
            {"tiny": CompatCell(CompatStatus.PASS)},
        ),
    }
    compat = CompatFile("tiny", "smoke", stacks).to_json()
    (root / "notebooks" / "tiny" / "results" / "compat.json").write_text(
        json.dumps(compat), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The fixture technique, planted, run in the smoke profile from 1 (so that a claim fails:
    `grows` wants squared / start > 1), and its site built."""
    root = tmp_path_factory.mktemp("browser") / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("build", "*.ipynb"))
    _plant(root)
    _keep_a_model(root)
    assert main(["-C", str(root), "run", str(root / "notebooks" / "tiny"), "-p", "start=1"]) == 1
    assert main(["-C", str(root), "site"]) == 0
    return root / "build" / "site"


class Visit:
    """One page as the browser loaded it, and what went wrong there."""

    def __init__(self, context, url: str) -> None:
        self.problems: list[str] = []
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def broken_images(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.complete || !i.naturalWidth).map(i => i.src)"
        )

    def links(self) -> list[str]:
        return self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")

    def has_id(self, fragment: str) -> bool:
        return self.page.evaluate("id => document.getElementById(id) !== null", fragment)


def _crawl(context, site: Path) -> tuple[dict[str, Visit], list[str]]:
    """Every page reachable from the front page: {path in the site: its visit}, and the
    problems found on the way (broken links, anchors, images, console errors)."""
    problems: list[str] = []
    visits: dict[str, Visit] = {}
    anchors: list[tuple[str, str, str]] = []  # (page, target page, fragment)
    queue = [(site / "index.html").as_uri()]
    while queue:
        url = queue.pop()
        path = Path(unquote(urlsplit(url).path))
        name = path.relative_to(site).as_posix()
        if name in visits:
            continue
        visit = visits[name] = Visit(context, url)
        problems += [f"{name}: {p}" for p in visit.problems]
        problems += [f"{name}: image does not load: {src}" for src in visit.broken_images()]
        for link in visit.links():
            parts = urlsplit(link)
            if parts.scheme != "file":
                continue  # the Colab and GitHub links: followed by readers, not by this test
            target = Path(unquote(parts.path))
            if not target.is_file() or not target.is_relative_to(site):
                problems.append(f"{name}: link to a missing page: {link}")
                continue
            if parts.fragment:
                anchors.append((name, target.relative_to(site).as_posix(), parts.fragment))
            if target.suffix == ".html":
                queue.append(target.as_uri())
    for page, target, fragment in anchors:
        if target in visits and not visits[target].has_id(unquote(fragment)):
            problems.append(f"{page}: link to a missing anchor: {target}#{fragment}")
    return visits, problems


def test_every_page_loads_from_disk_without_errors_network_or_planted_scripts(site):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside: list[str] = []

        def only_the_disk(route) -> None:
            if route.request.url.startswith(("file:", "data:")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_disk)
        try:
            visits, problems = _crawl(context, site)
            assert not problems, "\n".join(problems)
            assert not outside, f"requests that leave the disk: {outside}"
            assert set(KINDS) <= set(visits), f"pages not reached: {set(KINDS) - set(visits)}"
            for name, visit in visits.items():
                assert visit.page.evaluate("typeof window.planted") == "undefined", name
            text = {name: visits[name].page.inner_text("body") for name in KINDS}
            assert f"Squaring {PLANTED}" in text["index.html"]  # the name, shown as text
            assert f"{PLANTED} Square your numbers" in text["tiny/index.html"]
            assert f"4x {PLANTED}" in text["tiny/claims.html"]
            assert f"ImportError: {PLANTED}" in text["tiny/compat.html"]
            notebook = text["tiny/tiny.html"]
            assert f"start at 4. {PLANTED}" in notebook and "growth 1.0" in notebook
            assert "_tutorial_gen_harvest" not in notebook, "the harvest cell is hidden"
            models = text["tiny/models.html"]
            assert f"start 2 {PLANTED}" in models and "square_3.tflite" in models
            assert "not kept in this build: run tutorial-gen run --profile full --force" in models
            page = visits["tiny/models.html"].page
            assert len(page.query_selector_all("a[href$='.tflite']")) == 1  # only where it is here
            with page.expect_download() as download:
                page.click("a[href$='.tflite']")
            assert Path(download.value.path()).read_bytes() == MODEL
            failing, open_ = text["index.html"].split("Inconclusive or unverified claims")
            assert "grows" in failing.split("Failing claims")[1] and "phone" in open_
            overview_images = visits["tiny/index.html"].page.query_selector_all("img")
            assert overview_images, "the overview shows its plot"
            front = visits["index.html"].page
            shot = Path(os.environ.get("TUTORIAL_GEN_SCREENSHOT") or site / "front.png")
            front.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
