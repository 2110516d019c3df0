"""The HTML feedback report: one self-contained page rendered from a results.json.

Everything is inline (the stylesheet, the plots as base64 PNG data: URIs, no
script), so the file can be mailed, archived or opened offline. The markup is
in templates/report.html (jinja2, every value escaped); this module turns a
results.Run into the plain values it shows. The page's own words come from the
message catalogue (html.* keys), in English or Chinese; the plots are in
English only, since no CJK font can be counted on. Results may be of any shape
the grader writes, down to the few keys of a crashed run (results.Run reads
them leniently).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from pathlib import Path

from .contract import BATCH_SIZE, CLASS_NAMES, EXERCISE_ORDER
from .feedback import T
from .messages import MESSAGES
from .results import FAILED, PARTIAL, PASSED, CheckResult, Run
from .results import as_number as _number
from .results import as_text as _text

HTML_LANG = {"en": "en", "zh": "zh-CN"}
MOVING_AVERAGE = 20  # batches in the loss curve's moving average
DPI = 100  # plots are shown at their natural size: 1 PNG pixel per CSS pixel

# A check's or an exercise's status: its mark and its word.
MARKS = {PASSED: "✓", PARTIAL: "◐", FAILED: "✗"}
STATUS_WORDS = {PASSED: "html.status.passed", PARTIAL: "html.status.partial", FAILED: "html.status.failed"}
BANNERS = {"crashed": "html.banner.crashed", "timed out": "html.banner.timed_out"}
VISIBILITY = {
    "visible": "html.visibility.visible",
    "hidden": "html.visibility.hidden",
    "after_due_date": "html.visibility.after_due_date",
    "after_published": "html.visibility.after_published",
}
SCORE_COLUMNS = ("html.col.number", "html.col.check", "html.col.score", "html.col.status", "html.col.visibility")
SHAPE_COLUMNS = ("html.col.point", "html.col.expected", "html.col.found")


def write_report(results: dict | Run, path: Path, lang: str | None = None) -> None:
    Path(path).write_text(render_html(results, lang), encoding="utf-8")


def render_html(results: dict | Run, lang: str | None = None) -> str:
    """The report as a page; lang None: the language the results were graded in."""
    run = results if isinstance(results, Run) else Run.from_json(results)  # TypeError for a non-dict
    if lang is None:
        lang = run.lang
    if not isinstance(lang, str) or lang not in HTML_LANG:
        lang = "en"
    return environment().get_template("report.html").render(_view(run, lang))


@functools.cache
def environment():
    """The templates, with every {{ value }} escaped.

    Escaped as html.escape does (&#x27; for a quote, where markupsafe writes
    &#39;), so that a page is byte for byte what it was before the templates;
    autoescape stays on behind it for anything finalize lets through.
    """
    import jinja2
    from markupsafe import Markup

    def finalize(value):
        if isinstance(value, Markup):  # a macro's output: already escaped
            return value
        return Markup(html.escape("" if value is None else str(value), quote=True))

    return jinja2.Environment(
        loader=jinja2.PackageLoader("fcnn_grader", "templates"),
        autoescape=True,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _view(run: Run, lang: str) -> dict:
    """What the template shows: plain strings and numbers, in page order."""

    def say(key: str, **params) -> str:
        return T(key, **params).render(lang)

    title = say("html.title", submission=run.submission or T("html.unknown"))
    unknown = say("html.unknown")
    meta = [
        (say("html.grader"), run.grader or unknown),
        (say("html.device"), run.device or unknown),
        (say("html.duration"), say("html.seconds", seconds=_num(run.execution_time))),
    ]
    if run.sandbox:
        meta.append((say("html.sandbox"), _sandbox_layers(run.sandbox, lang)))
    banner = BANNERS.get(run.grading or "")
    if banner is None and not run.finished:
        banner = "html.banner.unfinished"
    possible = run.possible
    total = {"score": _num(run.score), "possible": None if possible is None else _num(possible),
             "percent": None, "width": None}
    if possible is not None and possible > 0:
        percent = max(0.0, min(100.0, 100 * run.score / possible))
        total.update(percent=f"{percent:.0f}", width=f"{percent:.1f}")
    # The output line; a crashed run's output goes on with the grader's log.
    first, _, rest = run.output.strip().partition("\n")
    return {
        "html_lang": HTML_LANG[lang],
        "title": title,
        "say": say,
        "marks": MARKS,
        "status_words": STATUS_WORDS,
        "meta": meta,
        "banner": banner,
        "total": total,
        "summary": first,
        "log": rest.strip(),
        "has_scores": bool(run.tests or run.exercises),
        "has_tests": bool(run.tests),
        "score_columns": SCORE_COLUMNS,
        "groups": _groups(run, say),
        "failures": [_test_view(i, t) for i, t in enumerate(run.tests) if not t.passed],
        "shapes": _shapes(run),
        "shape_columns": SHAPE_COLUMNS,
        "batch_size": BATCH_SIZE,
        **_training(run, say),
        "leaderboard": [
            {"name": e.get("name"), "value": e.get("value"), "lower_is_better": e.get("order") == "asc"}
            for e in run.leaderboard
        ],
    }


def _sandbox_layers(sandbox: dict, lang: str) -> str:
    """Which layers confined the submission's code (docs/isolation.md), in the report's language."""
    layers = sandbox.get("layers") if isinstance(sandbox.get("layers"), dict) else {}
    held = [T(f"html.sandbox.{name}").render(lang) for name, layer in layers.items()
            if isinstance(layer, dict) and layer.get("held") and f"html.sandbox.{name}" in MESSAGES]
    if not held:
        return T("html.sandbox.none").render(lang)
    return T("html.sandbox.separator").render(lang).join(held)


def _test_view(index: int, test: CheckResult) -> dict:
    # The output starts with the check's name, which the heading already shows.
    output = test.output.strip("\n")
    first, _, rest = output.partition("\n")
    if first.strip() == test.name.strip():
        output = rest.strip("\n")
    return {
        "index": index, "number": test.number, "check": test.check, "title": test.title, "passed": test.passed,
        "mark": test.mark, "points": f"{_num(test.score)} / {_num(test.max_score)}", "output": output,
    }


def _groups(run: Run, say) -> list[dict]:
    """The score table: each exercise, then its checks."""
    exercises = run.exercises or {}
    groups: dict[str, list[tuple[int, CheckResult]]] = {name: [] for name in EXERCISE_ORDER if name in exercises}
    for i, test in enumerate(run.tests):
        groups.setdefault(test.exercise, []).append((i, test))
    # The course's order first, then whatever else the results hold, as they come.
    order = [n for n in EXERCISE_ORDER if n in groups] + [n for n in groups if n not in EXERCISE_ORDER]
    views = []
    for name in order:
        tests = groups[name]
        totals = exercises.get(name) or {}
        score = _number(totals.get("score"))
        possible = _number(totals.get("max_score"))
        if score is None:
            score = sum(t.score for _, t in tests)
        if possible is None:
            possible = sum(t.max_score for _, t in tests)
        if tests:
            status = PASSED if all(t.passed for _, t in tests) else PARTIAL if score > 0 else FAILED
        else:
            status = PASSED if score >= possible else PARTIAL if score > 0 else FAILED
        title = f"html.exercise.{name}"
        checks = []
        for i, test in tests:
            view = _test_view(i, test)
            view["visibility"] = say(VISIBILITY[test.visibility]) if test.visibility in VISIBILITY else test.visibility
            checks.append(view)
        views.append({
            "number": EXERCISE_ORDER.index(name) + 1 if name in EXERCISE_ORDER else "",
            "name": name, "title": title if title in MESSAGES else None,
            "score": _num(score), "possible": _num(possible), "status": status, "tests": checks,
        })
    return views


def _shapes(run: Run) -> list[dict]:
    layer_shapes = (run.checks or {}).get("network::layer_shapes", {}).get("layer_shapes")
    views = []
    for shape in layer_shapes if isinstance(layer_shapes, list) else []:
        if not isinstance(shape, dict):
            continue
        point, expected, found = _text(shape.get("point")), shape.get("expected"), shape.get("found")
        if found is None:
            status, label = FAILED, "found.not_reached"
        elif found == expected:
            status, label = PASSED, "html.shape.ok"
        else:
            status, label = FAILED, "html.shape.wrong"
        description = f"point.{point}"
        views.append({
            "point": point, "description": description if description in MESSAGES else None,
            "expected": _shape(expected), "found": _shape(found), "status": status, "label": label,
        })
    return views


def _training(run: Run, say) -> dict:
    """The loss curve and the confusion matrix as figures, or None where the data is missing or unusable."""
    data = (run.checks or {}).get("training_loop::accuracy", {})
    losses = _numbers(data.get("loss_curve"), gaps=True)
    matrix = _matrix(data.get("confusion"), len(CLASS_NAMES))
    accuracy = _number(data.get("accuracy"))
    if accuracy is None and matrix is not None and sum(map(sum, matrix)) > 0:
        accuracy = sum(matrix[i][i] for i in range(len(matrix))) / sum(map(sum, matrix))
    loss_curve = confusion = None
    if losses is not None and any(math.isfinite(x) for x in losses):
        caption = [say("html.loss_caption", batches=len(losses), size=BATCH_SIZE)]
        if accuracy is not None:
            caption.append(say("html.accuracy", accuracy=f"{accuracy:.2%}"))
        seconds = _number(data.get("train_seconds"))
        if seconds is not None:
            caption.append(say("html.train_time", seconds=f"{seconds:.1f}"))
        # The alt texts stay English, like the plots they describe.
        loss_curve = _figure(loss_curve_png(losses), "loss curve", " ".join(caption))
    if matrix is not None:
        confusion = _figure(confusion_png(matrix, accuracy), "confusion matrix", say("html.confusion_caption"))
    return {"loss_curve": loss_curve, "confusion": confusion}


def _figure(image: tuple[str, int, int], alt: str, caption: str) -> dict:
    uri, width, height = image
    return {"uri": uri, "width": width, "height": height, "alt": alt, "caption": caption}


# ----- reading the plain data of the checks: anything may be missing or of another type ------------------


def _num(value) -> str:
    """A score for people: 33.3333 -> 33.33, 4.0 -> 4."""
    number = _number(value)
    return _text(value) if number is None or not math.isfinite(number) else f"{round(number, 2):g}"


def _numbers(value, gaps: bool = False) -> list[float] | None:
    """A list of numbers, or None; with gaps, a null (a NaN in results.json) stays as NaN."""
    if not isinstance(value, list) or not value:
        return None
    if gaps:
        value = [math.nan if v is None else v for v in value]
    if any(_number(v) is None for v in value):
        return None
    return [float(v) for v in value]


def _matrix(value, size: int) -> list[list[float]] | None:
    """A size x size matrix of finite, non-negative counts, or None."""
    if not isinstance(value, list) or len(value) != size:
        return None
    rows = [_numbers(row) for row in value]
    if any(row is None or len(row) != size or not all(math.isfinite(v) and v >= 0 for v in row) for row in rows):
        return None
    return rows


def _shape(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return "—" if value is None else _text(value)


# ----- plots -------------------------------------------------------------------------------------------


def _new_figure(width: float, height: float):
    # Never pyplot: its global state is not safe when reports are rendered from several threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> tuple[str, int, int]:
    """A data: URI of the figure as PNG, and its size in pixels."""
    buffer = io.BytesIO()
    # No "Software" entry: the same results give byte-for-byte the same page.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    width, height = (round(v * DPI) for v in figure.get_size_inches())
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), width, height


def loss_curve_png(losses: list[float]) -> tuple[str, int, int]:
    import numpy as np

    y = np.array(losses, dtype=float)
    y[~np.isfinite(y)] = np.nan  # a gap in the line rather than an axis stretched to infinity
    x = np.arange(1, len(y) + 1)
    figure = _new_figure(9.6, 3.8)
    ax = figure.add_subplot()
    ax.plot(x, y, color="#9cb9dc", linewidth=0.8, label="loss of each batch")
    if len(y) >= 2 * MOVING_AVERAGE:
        average = np.convolve(y, np.ones(MOVING_AVERAGE) / MOVING_AVERAGE, mode="valid")
        ax.plot(x[MOVING_AVERAGE - 1 :], average, color="#1f4e8c", linewidth=2,
                label=f"moving average ({MOVING_AVERAGE} batches)")
    ax.set_xlim(1, max(2, len(y)))
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(y))))
    ax.set_xlabel(f"batch (of {BATCH_SIZE} images)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("Training loss during the epoch")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    return _png(figure)


def confusion_png(matrix: list[list[float]], accuracy: float | None) -> tuple[str, int, int]:
    import numpy as np
    from matplotlib.colors import PowerNorm

    counts = np.array(matrix, dtype=float)
    size = len(counts)
    figure = _new_figure(7.4, 6.6)
    ax = figure.add_subplot()
    # A square-root colour scale, so that the off-diagonal mistakes show beside the large diagonal.
    ax.imshow(counts, cmap="Blues", norm=PowerNorm(gamma=0.5, vmin=0, vmax=max(1.0, counts.max())))
    ax.set_xticks(range(size), CLASS_NAMES, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(size), CLASS_NAMES)
    ax.tick_params(length=0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    title = "Test set confusion matrix"
    ax.set_title(title if accuracy is None else f"{title}, accuracy {accuracy:.2%}")
    light = 0.45 * counts.max()  # above it the cell is dark: write in white
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8, color="white" if value > light else "#1f2328")
    return _png(figure)
