"""The HTML feedback report: content, escaping, languages, odd results, the CLI, and a real browser.

Most tests render hand-made results dicts shaped like the grader's
results.json (see reporter.results_json); one renders a real grader run, and
one opens a report in headless Chromium to see that the plots show.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import random
import re
from pathlib import Path

import pytest

from conftest import SUBMISSIONS, grade
from fcnn_grader.cli import main as cli_main
from fcnn_grader.report_html import render_html, write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# A test-set confusion matrix of a real run of the reference (accuracy 0.8426).
CONFUSION = [
    [773, 1, 26, 43, 19, 2, 131, 0, 5, 0],
    [1, 965, 0, 21, 8, 0, 5, 0, 0, 0],
    [8, 0, 679, 9, 221, 0, 83, 0, 0, 0],
    [32, 8, 3, 849, 84, 0, 23, 0, 1, 0],
    [0, 1, 42, 20, 845, 0, 91, 0, 1, 0],
    [1, 0, 1, 0, 0, 920, 0, 62, 0, 16],
    [179, 0, 94, 40, 123, 0, 554, 0, 10, 0],
    [0, 0, 0, 0, 0, 8, 0, 980, 0, 12],
    [3, 0, 15, 7, 11, 6, 22, 8, 928, 0],
    [0, 0, 0, 0, 0, 3, 0, 63, 1, 933],
]

EXPECTED_SHAPES = {
    "conv1": [100, 6, 24, 24], "pool1": [100, 6, 12, 12], "conv2": [100, 12, 8, 8], "pool2": [100, 12, 4, 4],
    "flatten": [100, 192], "fc1": [100, 120], "fc2": [100, 60], "out": [100, 10], "output": [100, 10],
}

# A submission without the max-pool after conv1: what network::layer_shapes finds.
MISSING_POOL_SHAPES = {
    "conv1": [100, 6, 24, 24], "pool1": [100, 6, 24, 24], "conv2": [100, 12, 20, 20], "pool2": [100, 12, 20, 20],
    "flatten": [2500, 192], "fc1": [2500, 120], "fc2": [2500, 60], "out": [2500, 10], "output": [2500, 10],
}

# check id: points
CHECKS = {
    "data::train_set": 2.0,
    "network::parameters": 2.0,
    "network::layer_shapes": 3.0,
    "num_correct::crafted_inputs": 3.0,
    "training_step::returns_loss": 2.0,
    "training_loop::accuracy": 4.0,
}

FAILURE = """A layer's output has the wrong shape for a batch of 100 images.

  where:          after relu + max-pool of conv1 (what conv2 receives)
  expected:       [100, 6, 12, 12]
  found:          [100, 6, 24, 24]
  likely mistake: the max-pool after conv1 is missing: F.max_pool2d(t, kernel_size=2, stride=2)"""


def loss_curve(batches: int = 600) -> list[float]:
    """Per-batch losses as one epoch gives them: down fast from ln(10), then noisy."""
    rng = random.Random(0)
    return [round(max(0.05, 0.45 + 1.85 * math.exp(-i / 40) + rng.gauss(0, 0.08)), 5) for i in range(batches)]


def make_results(failures: dict[str, str] | None = None, lang: str = "en", training: bool = True) -> dict:
    """A results.json as the grader writes it; failures: check id -> its message."""
    failures = failures or {}
    tests, exercises, numbers = [], {}, {}
    for check, points in CHECKS.items():
        exercise = check.split("::")[0]
        numbers[exercise] = numbers.get(exercise, 0) + 1
        failed = check in failures
        score = 0.0 if failed else points
        name = f"{check}: what {check} verifies"
        tests.append({
            "name": name,
            "number": f"{len(numbers)}.{numbers[exercise]}",
            "score": score,
            "max_score": points,
            "status": "failed" if failed else "passed",
            "output": f"{name}\n{failures[check]}" if failed else "",  # as pytest's longrepr has it
            "visibility": "visible",
            "tags": [exercise],
        })
        totals = exercises.setdefault(exercise, {"score": 0.0, "max_score": 0.0})
        totals["score"] += score
        totals["max_score"] += points
    found = MISSING_POOL_SHAPES if "network::layer_shapes" in failures else EXPECTED_SHAPES
    checks = {
        "network::layer_shapes": {
            "layer_shapes": [{"point": p, "expected": e, "found": found[p]} for p, e in EXPECTED_SHAPES.items()]
        }
    }
    if training:
        checks["training_loop::accuracy"] = {
            "accuracy": 0.8426, "confusion": CONFUSION, "loss_curve": loss_curve(), "train_seconds": 4.907,
        }
    score = sum(t["score"] for t in tests)
    return {
        "score": score,
        "execution_time": 10.5,
        "output": f"{sum(t['status'] == 'passed' for t in tests)} of {len(tests)} checks passed; score {score:g} / 16.",
        "tests": tests,
        "leaderboard": [{"name": "Test accuracy", "value": 0.8426}] if training else [],
        "extra_data": {
            "grader": "fcnn-grader 0.1.0", "submission": "student-042", "device": "cpu", "lang": lang,
            "finished": True, "max_score": 16.0, "exercises": exercises, "checks": checks,
        },
    }


def fallback_results() -> dict:
    """What `fcnn-grader grade` writes when the grading process died (cli._fallback_results)."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": "Grading did not finish: crashed.\n\nFatal Python error: Segmentation fault <in forward>",
        "tests": [],
        "leaderboard": [],
        "extra_data": {"grader": "fcnn-grader 0.1.0", "submission": "student-007", "finished": False},
    }


def images(page_html: str) -> list[str]:
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', page_html)


# ----- content ---------------------------------------------------------------------------------


def test_passing_report_shows_scores_shapes_and_both_plots():
    page = render_html(make_results())
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "Feedback report: student-042" in page and "fcnn-grader 0.1.0" in page
    assert "<strong>16</strong> / 16" in page and "6 of 6 checks passed" in page
    assert page.count('<tr class="exercise">') == 5 and page.count('<tr class="check">') == len(CHECKS)
    assert "Every check passed." in page and 'class="failure' not in page
    assert 'class="mismatch"' not in page and page.count("✓ matches") == len(EXPECTED_SHAPES)
    assert images(page) == ["loss curve", "confusion matrix"]
    assert "Test accuracy after the epoch: 84.26%." in page and "Training took 4.9 s." in page
    assert "Leaderboard" in page and "0.8426" in page
    assert 'class="banner"' not in page


def test_failing_check_shows_its_message_and_marks_the_shapes():
    page = render_html(make_results({"network::layer_shapes": FAILURE}))
    assert "What to fix" in page and page.count('<article class="failure failed"') == 1
    assert '<a href="#check-2">network::layer_shapes</a>' in page and 'id="check-2"' in page
    assert "likely mistake: the max-pool after conv1 is missing" in page
    # The output's first line repeats the check's name, shown in the heading instead.
    assert "<pre>A layer&#x27;s output has the wrong shape" in page
    assert page.count('<tr class="mismatch">') == 8  # every point after conv1
    assert "[100, 6, 24, 24]" in page and "[2500, 10]" in page


def test_a_failed_check_with_some_points_is_called_failed_as_in_results_json():
    """Gradescope, results.json and the notebook say "failed": the page says so too, then the points."""
    results = make_results({"network::layer_shapes": FAILURE})
    check = next(t for t in results["tests"] if t["name"].startswith("network::layer_shapes"))
    check["score"] = 1.0
    for lang, word in (("en", "failed, partial credit"), ("zh", "未通过，部分得分")):
        page = render_html({**results, "extra_data": {**results["extra_data"], "lang": lang}})
        assert word in page, lang
        assert ">partial credit<" not in page and ">部分得分<" not in page


def test_everything_from_the_results_is_escaped():
    evil = "<script>alert(1)</script>"
    results = make_results({"network::parameters": f"ValueError: {evil} & more"})
    results["extra_data"]["submission"] = evil
    results["tests"][0]["name"] = f"data::train_set: {evil}"
    results["tests"][0]["number"] = evil
    results["leaderboard"] = [{"name": evil, "value": evil}]
    results["extra_data"]["checks"]["network::layer_shapes"]["layer_shapes"][0]["found"] = [evil]
    page = render_html(results)
    assert "<script" not in page  # no script at all: the page needs none
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 7


def test_fallback_results_of_a_crashed_run():
    page = render_html(fallback_results())
    assert "Feedback report: student-007" in page
    assert '<p class="banner" role="alert">Grading did not finish' in page
    assert '<p class="summary">Grading did not finish: crashed.</p>' in page
    assert "Segmentation fault &lt;in forward&gt;</pre>" in page
    assert "No check results" in page and "No layer shapes" in page
    assert "No loss curve" in page and "No confusion matrix" in page
    assert images(page) == []


@pytest.mark.parametrize(("grading", "words"), [("crashed", "Grading crashed"), ("timed out", "Grading was stopped")])
def test_a_run_stopped_by_the_cli_gets_a_banner(grading, words):
    results = make_results()
    results["extra_data"]["grading"] = grading
    assert f'<p class="banner" role="alert">{words}' in render_html(results)


def test_chinese_report():
    page = render_html(make_results({"network::layer_shapes": FAILURE}, lang="zh"))
    assert '<html lang="zh-CN">' in page
    headings = ("反馈报告：student-042", "总分", "得分", "需要修改的地方", "每一层的输出形状", "训练一个 epoch", "排行榜")
    assert all(words in page for words in headings)
    assert "✗ 未通过" in page and "◐ 未通过，部分得分" in page
    assert "Scores" not in page and "What to fix" not in page
    assert images(page) == ["loss curve", "confusion matrix"]  # the plots themselves are in English


def test_the_language_argument_beats_the_results_language():
    results = make_results(lang="zh", training=False)
    assert '<html lang="en">' in render_html(results, "en")
    assert '<html lang="zh-CN">' in render_html(make_results(training=False), "zh")
    del results["extra_data"]["lang"]
    assert '<html lang="en">' in render_html(results)


def test_missing_plot_data_gives_notes_instead_of_plots():
    page = render_html(make_results(training=False))
    assert images(page) == []
    assert "No loss curve" in page and "No confusion matrix" in page


def test_unusable_plot_data_gives_notes_instead_of_plots():
    results = make_results()
    results["extra_data"]["checks"]["training_loop::accuracy"].update(loss_curve=["a", None], confusion=[[1, 2], [3, 4]])
    page = render_html(results)
    assert images(page) == [] and "No loss curve" in page and "No confusion matrix" in page


def test_non_finite_losses_still_plot():
    results = make_results()
    curve = results["extra_data"]["checks"]["training_loop::accuracy"]["loss_curve"]
    curve[10], curve[20] = float("nan"), float("inf")
    assert images(render_html(results)) == ["loss curve", "confusion matrix"]


@pytest.mark.parametrize("results", [fallback_results(), make_results({"network::layer_shapes": FAILURE}, lang="zh")])
def test_the_page_is_self_contained(results):
    page = render_html(results)
    for reference in ("http://", "https://", 'src="/', "<script", "<link", "url("):
        assert reference not in page
    assert set(re.findall(r'src="([a-z]+):', page)) <= {"data"}


@pytest.mark.parametrize(
    "results",
    [
        {},
        {"tests": None, "extra_data": None, "leaderboard": None, "output": None},
        {"tests": [1, "x", {}, {"name": None, "score": "?", "status": None}], "extra_data": []},
        {"score": "lots", "extra_data": {"max_score": "y", "exercises": {"data": 5, "other": {"score": 1}}, "checks": []}},
        {"extra_data": {"checks": {"network::layer_shapes": {"layer_shapes": [None, {}, {"point": "nowhere"}]},
                                   "training_loop::accuracy": {"confusion": [[0] * 10] * 10, "loss_curve": [1.0]}}}},
        {"leaderboard": [None, {}, {"name": None, "value": None, "order": "asc"}]},
        {"extra_data": {"lang": ["zh"], "grading": ["?"], "finished": None, "submission": {"a": 1}}},
    ],
)
def test_any_results_shape_renders(results):
    assert render_html(results).rstrip().endswith("</html>")


def test_non_dict_results_are_refused():
    with pytest.raises(TypeError, match="results must be a dict"):
        render_html([])  # type: ignore[arg-type]


def test_rendering_is_deterministic_and_safe_from_threads():
    results = make_results({"network::layer_shapes": FAILURE})
    first = render_html(results)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        pages = list(pool.map(lambda _: render_html(results), range(3)))
    assert all(page == first for page in pages)


def test_a_real_grader_run(pytester, submission, tmp_path):
    """The network exercise of a submission without the first max-pool, as the grader reports it."""
    results_path = tmp_path / "results.json"
    folder = submission(SUBMISSIONS / "buggy" / "missing_pool")
    grade(pytester, folder, "network", f"--grade-json={results_path}")
    page = render_html(json.loads(results_path.read_text(encoding="utf-8")))
    assert "Feedback report: " in page and "What to fix" in page
    assert "the max-pool after conv1 is missing" in page
    assert page.count('<tr class="mismatch">') == 8
    assert "No loss curve" in page  # the training_loop exercise was not run


# ----- the CLI -------------------------------------------------------------------------------------


def test_cli_report_writes_the_page(tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(make_results(lang="zh", training=False)), encoding="utf-8")
    out = tmp_path / "report.html"
    assert cli_main(["report", str(results), "--html", str(out)]) == 0
    assert '<html lang="zh-CN">' in out.read_text(encoding="utf-8")
    assert cli_main(["report", str(results), "--html", str(out), "--lang", "en"]) == 0
    assert '<html lang="en">' in out.read_text(encoding="utf-8")
    assert capsys.readouterr().out == f"wrote {out}\n" * 2


@pytest.mark.parametrize("content", [None, "{not json", b"\xff\xfe\x00garbage"])
def test_cli_report_of_a_missing_or_garbled_file_is_a_usage_error(tmp_path, capsys, content):
    results = tmp_path / "results.json"
    if isinstance(content, str):
        results.write_text(content, encoding="utf-8")
    elif content is not None:
        results.write_bytes(content)
    out = tmp_path / "report.html"
    assert cli_main(["report", str(results), "--html", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fcnn-grader: error: {results}: ") and err.count("\n") == 1
    assert not out.exists()


def test_write_report_writes_utf8(tmp_path):
    out = tmp_path / "report.html"
    write_report(make_results(lang="zh", training=False), out)
    assert "反馈报告" in out.read_text(encoding="utf-8")


# ----- in a real browser -------------------------------------------------------------------------


def test_screenshot_in_headless_chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from PIL import Image

    report = tmp_path / "report.html"
    write_report(make_results({"network::layer_shapes": FAILURE}), report)
    shot = tmp_path / "report.png"
    requested: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(report.as_uri())
            for alt in ("loss curve", "confusion matrix"):
                image = page.get_by_alt_text(alt)
                image.scroll_into_view_if_needed()
                assert image.is_visible(), alt
                box = image.evaluate("img => ({complete: img.complete, natural: img.naturalWidth, shown: img.clientWidth})")
                assert box["complete"] and box["natural"] > 0 and box["shown"] > 0, (alt, box)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    # Nothing fetched but the page itself and its data: URIs.
    assert requested and all(url.startswith(("file:", "data:")) for url in requested), requested
    assert shot.stat().st_size > 50_000
    with Image.open(shot) as picture:
        assert picture.width == 1100 and picture.height > 2000
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500  # text, badges and plots, not a blank page
