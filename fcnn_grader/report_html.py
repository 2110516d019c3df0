"""The HTML feedback report: one self-contained page rendered from a results.json.

Everything is inline (the stylesheet, the plots as base64 PNG data: URIs, no
script), so the file can be mailed, archived or opened offline. The page's own
words come from the message catalogue (html.* keys), in English or Chinese;
the plots are in English only, since no CJK font can be counted on. Anything
read from the results is escaped: check outputs quote the student's
exceptions and values. The results may be of any shape the grader writes,
down to the few keys of a crashed run, so every key is optional.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

from .contract import BATCH_SIZE, CLASS_NAMES, EXERCISE_ORDER
from .feedback import T
from .messages import MESSAGES

HTML_LANG = {"en": "en", "zh": "zh-CN"}
MOVING_AVERAGE = 20  # batches in the loss curve's moving average
DPI = 100  # plots are shown at their natural size: 1 PNG pixel per CSS pixel

# A check's or an exercise's status: its mark and its word.
STATUS = {
    "passed": ("✓", "html.status.passed"),
    "partial": ("◐", "html.status.partial"),
    "failed": ("✗", "html.status.failed"),
}
BANNERS = {"crashed": "html.banner.crashed", "timed out": "html.banner.timed_out"}
VISIBILITY = {
    "visible": "html.visibility.visible",
    "hidden": "html.visibility.hidden",
    "after_due_date": "html.visibility.after_due_date",
    "after_published": "html.visibility.after_published",
}


def write_report(results: dict, path: Path, lang: str | None = None) -> None:
    Path(path).write_text(render_html(results, lang), encoding="utf-8")


def render_html(results: dict, lang: str | None = None) -> str:
    """The report as a page; lang None: the language the results were graded in."""
    if not isinstance(results, dict):
        raise TypeError(f"results must be a dict, not {type(results).__name__}")
    if lang is None:
        lang = _dict(results.get("extra_data")).get("lang")
    if not isinstance(lang, str) or lang not in HTML_LANG:
        lang = "en"
    return _Report(results, lang).page()


class _Report:
    def __init__(self, results: dict, lang: str):
        self.results = results
        self.lang = lang
        self.extra = _dict(results.get("extra_data"))
        self.checks = _dict(self.extra.get("checks"))
        self.tests = [t for t in _list(results.get("tests")) if isinstance(t, dict)]
        self.title = self.say(T("html.title", submission=self.extra.get("submission") or T("html.unknown")))

    def say(self, message: T) -> str:
        """A catalogue message in the report's language, escaped."""
        return _esc(message.render(self.lang))

    def page(self) -> str:
        sections = (self.header(), self.scores(), self.failures(), self.layer_shapes(), self.training(), self.leaderboard())
        body = "\n".join(section for section in sections if section)
        return _PAGE.format(lang=HTML_LANG[self.lang], title=self.title, css=_CSS, body=body)

    # ----- the sections, in page order ------------------------------------------------------------

    def header(self) -> str:
        unknown = self.say(T("html.unknown"))
        meta = [  # (label, escaped value)
            (T("html.grader"), _esc(self.extra.get("grader")) or unknown),
            (T("html.device"), _esc(self.extra.get("device")) or unknown),
            (T("html.duration"), self.say(T("html.seconds", seconds=_num(self.results.get("execution_time", "?"))))),
        ]
        sandbox = self.sandbox()
        if sandbox:
            meta.append((T("html.sandbox"), sandbox))
        items = "".join(f"<div><dt>{self.say(label)}</dt><dd>{value}</dd></div>" for label, value in meta)
        out = ["<header>", f"<h1>{self.title}</h1>", f'<dl class="meta">{items}</dl>', self.banner()]
        score, possible = _number(self.results.get("score")) or 0.0, self.possible()
        total = f"<strong>{_num(score)}</strong>"
        if possible is not None:
            total += f" / {_num(possible)}"
            if possible > 0:
                percent = max(0.0, min(100.0, 100 * score / possible))
                total += f' <span class="muted">({percent:.0f}%)</span>'
                total += f'<div class="bar"><span style="width: {percent:.1f}%"></span></div>'
        out.append(f'<div class="total"><span class="label">{self.say(T("html.total"))}</span> {total}</div>')
        # The output line; a crashed run's output goes on with the grader's log.
        first, _, rest = _text(self.results.get("output")).strip().partition("\n")
        if first:
            out.append(f'<p class="summary">{_esc(first)}</p>')
        if rest.strip():
            out.append(f'<pre class="log">{_esc(rest.strip())}</pre>')
        out.append("</header>")
        return "\n".join(part for part in out if part)

    def sandbox(self) -> str:
        """Which layers confined the submission's code (README, "Isolation"), in the report's language."""
        sandbox = _dict(self.extra.get("sandbox"))
        if not sandbox:
            return ""
        layers = {name: _dict(layer) for name, layer in _dict(sandbox.get("layers")).items()}
        held = [T(f"html.sandbox.{name}").render(self.lang) for name, layer in layers.items()
                if layer.get("held") and f"html.sandbox.{name}" in MESSAGES]
        if not held:
            return self.say(T("html.sandbox.none"))
        return _esc(T("html.sandbox.separator").render(self.lang).join(held))

    def banner(self) -> str:
        key = BANNERS.get(_text(self.extra.get("grading")))
        if key is None and self.extra.get("finished") is False:
            key = "html.banner.unfinished"
        if key is None:
            return ""
        return f'<p class="banner" role="alert">{self.say(T(key))}</p>'

    def possible(self) -> float | None:
        declared = _number(self.extra.get("max_score"))
        if declared is not None:
            return declared
        if self.tests:
            return sum(_number(t.get("max_score")) or 0.0 for t in self.tests)
        return None  # a crashed run: no checks, nothing to be out of

    def scores(self) -> str:
        heading = self.heading(T("html.scores"))
        exercises = _dict(self.extra.get("exercises"))
        if not self.tests and not exercises:
            return f'<section id="scores">{heading}{self.note(T("html.no_tests"))}</section>'
        groups: dict[str, list[tuple[int, dict]]] = {name: [] for name in EXERCISE_ORDER if name in exercises}
        for i, test in enumerate(self.tests):
            groups.setdefault(_check_id(test).partition("::")[0], []).append((i, test))
        # The course's order first, then whatever else the results hold, as they come.
        order = [n for n in EXERCISE_ORDER if n in groups] + [n for n in groups if n not in EXERCISE_ORDER]
        rows = []
        for name in order:
            tests = groups[name]
            totals = _dict(exercises.get(name))
            score = _number(totals.get("score"))
            possible = _number(totals.get("max_score"))
            if score is None:
                score = sum(_number(t.get("score")) or 0.0 for _, t in tests)
            if possible is None:
                possible = sum(_number(t.get("max_score")) or 0.0 for _, t in tests)
            if tests:
                status = "passed" if all(_passed(t) for _, t in tests) else "partial" if score > 0 else "failed"
            else:
                status = "passed" if score >= possible else "partial" if score > 0 else "failed"
            number = EXERCISE_ORDER.index(name) + 1 if name in EXERCISE_ORDER else ""
            title = f"html.exercise.{name}"
            label = f"<code>{_esc(name)}</code>" + (f" {self.say(T(title))}" if title in MESSAGES else "")
            rows.append(
                f'<tr class="exercise"><td>{number}</td><th scope="row">{label}</th>'
                f'<td class="num">{_num(score)} / {_num(possible)}</td><td>{self.badge(status)}</td><td></td></tr>'
            )
            for i, test in tests:
                check_id, title_text = _check_id(test), _check_title(test)
                link = f'<a href="#check-{i}">{_esc(check_id)}</a>' if not _passed(test) else _esc(check_id)
                visibility = _text(test.get("visibility"))
                visibility = self.say(T(VISIBILITY[visibility])) if visibility in VISIBILITY else _esc(visibility)
                rows.append(
                    f'<tr class="check"><td>{_esc(test.get("number"))}</td>'
                    f'<td><code>{link}</code><div class="muted">{_esc(title_text)}</div></td>'
                    f'<td class="num">{_points(test)}</td>'
                    f"<td>{self.badge(_status(test))}</td>"
                    f'<td class="muted">{visibility}</td></tr>'
                )
        head = "".join(
            f"<th>{self.say(T(k))}</th>"
            for k in ("html.col.number", "html.col.check", "html.col.score", "html.col.status", "html.col.visibility")
        )
        return (
            f'<section id="scores">{heading}\n<table class="scores"><thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows)
            + "\n</tbody></table></section>"
        )

    def failures(self) -> str:
        if not self.tests:
            return ""
        heading = self.heading(T("html.failures"))
        items = []
        for i, test in enumerate(self.tests):
            if _passed(test):
                continue
            # The output starts with the check's name, which the heading already shows.
            name = _text(test.get("name"))
            output = _text(test.get("output")).strip("\n")
            first, _, rest = output.partition("\n")
            if first.strip() == name.strip():
                output = rest.strip("\n")
            items.append(
                f'<article class="failure {_status(test)}" id="check-{i}">'
                f'<h3><span class="muted">{_esc(test.get("number"))}</span> <code>{_esc(_check_id(test))}</code> '
                f'<span class="points">{_points(test)}</span></h3>'
                f'<p class="muted">{_esc(_check_title(test))}</p>'
                + (f"<pre>{_esc(output)}</pre>" if output.strip() else "")
                + "</article>"
            )
        if not items:
            return f'<section id="failures">{heading}<p class="ok">{self.say(T("html.all_passed"))}</p></section>'
        return f'<section id="failures">{heading}\n' + "\n".join(items) + "\n</section>"

    def layer_shapes(self) -> str:
        heading = self.heading(T("html.shapes"))
        shapes = [s for s in _list(_dict(self.checks.get("network::layer_shapes")).get("layer_shapes")) if isinstance(s, dict)]
        if not shapes:
            return f'<section id="shapes">{heading}{self.note(T("html.no_shapes"))}</section>'
        rows = []
        for shape in shapes:
            point, expected, found = _text(shape.get("point")), shape.get("expected"), shape.get("found")
            if found is None:
                status, label = "failed", T("found.not_reached")
            elif found == expected:
                status, label = "passed", T("html.shape.ok")
            else:
                status, label = "failed", T("html.shape.wrong")
            description = f"point.{point}"
            where = f"<code>{_esc(point)}</code>" + (
                f' <span class="muted">{self.say(T(description))}</span>' if description in MESSAGES else ""
            )
            row_class = "" if status == "passed" else ' class="mismatch"'
            rows.append(
                f"<tr{row_class}><td>{where}</td>"
                f"<td><code>{_esc(_shape(expected))}</code></td><td><code>{_esc(_shape(found))}</code></td>"
                f"<td>{self.badge(status, label)}</td></tr>"
            )
        head = "".join(f"<th>{self.say(T(k))}</th>" for k in ("html.col.point", "html.col.expected", "html.col.found"))
        return (
            f'<section id="shapes">{heading}<p>{self.say(T("html.shapes_intro", n=BATCH_SIZE))}</p>\n'
            f'<table class="shapes"><thead><tr>{head}<th></th></tr></thead>\n<tbody>\n'
            + "\n".join(rows)
            + "\n</tbody></table></section>"
        )

    def training(self) -> str:
        data = _dict(self.checks.get("training_loop::accuracy"))
        losses = _numbers(data.get("loss_curve"), gaps=True)
        matrix = _matrix(data.get("confusion"), len(CLASS_NAMES))
        accuracy = _number(data.get("accuracy"))
        if accuracy is None and matrix is not None and sum(map(sum, matrix)) > 0:
            accuracy = sum(matrix[i][i] for i in range(len(matrix))) / sum(map(sum, matrix))
        parts = ['<section id="training">', self.heading(T("html.training"))]
        if losses is not None and any(math.isfinite(x) for x in losses):
            caption = [self.say(T("html.loss_caption", batches=len(losses), size=BATCH_SIZE))]
            if accuracy is not None:
                caption.append(self.say(T("html.accuracy", accuracy=f"{accuracy:.2%}")))
            seconds = _number(data.get("train_seconds"))
            if seconds is not None:
                caption.append(self.say(T("html.train_time", seconds=f"{seconds:.1f}")))
            parts.append(_figure(_loss_curve_png(losses), "loss curve", " ".join(caption)))
        else:
            parts.append(self.note(T("html.no_loss_curve")))
        if matrix is not None:
            parts.append(_figure(_confusion_png(matrix, accuracy), "confusion matrix", self.say(T("html.confusion_caption"))))
        else:
            parts.append(self.note(T("html.no_confusion")))
        parts.append("</section>")
        return "\n".join(parts)

    def leaderboard(self) -> str:
        entries = [e for e in _list(self.results.get("leaderboard")) if isinstance(e, dict)]
        if not entries:
            return ""
        rows = "\n".join(
            f'<tr><td>{_esc(e.get("name"))}'
            + (f' <span class="muted">({self.say(T("html.lower_better"))})</span>' if e.get("order") == "asc" else "")
            + f'</td><td class="num">{_esc(e.get("value"))}</td></tr>'
            for e in entries
        )
        head = f'<th>{self.say(T("html.col.name"))}</th><th>{self.say(T("html.col.value"))}</th>'
        return (
            f'<section id="leaderboard">{self.heading(T("html.leaderboard"))}\n'
            f'<table class="leaderboard"><thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody></table></section>'
        )

    def heading(self, message: T) -> str:
        return f"<h2>{self.say(message)}</h2>"

    def note(self, message: T) -> str:
        return f'<p class="note">{self.say(message)}</p>'

    def badge(self, status: str, label: T | None = None) -> str:
        mark, key = STATUS[status]
        return f'<span class="badge {status}">{mark} {self.say(label or T(key))}</span>'


# ----- reading the results: anything may be missing or of another type ------------------------------


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _text(value) -> str:
    return "" if value is None else str(value)


def _esc(value) -> str:
    return html.escape(_text(value), quote=True)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


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


def _check_id(test: dict) -> str:
    """The check's id: its name up to ": " (the rest is its title)."""
    return _text(test.get("name")).partition(": ")[0]


def _check_title(test: dict) -> str:
    return _text(test.get("name")).partition(": ")[2]


def _points(test: dict) -> str:
    return _esc(f"{_num(test.get('score', 0))} / {_num(test.get('max_score', 0))}")


def _passed(test: dict) -> bool:
    return test.get("status") == "passed"


def _status(test: dict) -> str:
    if _passed(test):
        return "passed"
    return "partial" if (_number(test.get("score")) or 0) > 0 else "failed"


# ----- plots -------------------------------------------------------------------------------------------


def _figure(image: tuple[str, int, int], alt: str, caption: str) -> str:
    # The alt texts stay English, like the plots they describe.
    uri, width, height = image
    return f'<figure><img alt="{alt}" src="{uri}" width="{width}" height="{height}"><figcaption>{caption}</figcaption></figure>'


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


def _loss_curve_png(losses: list[float]) -> tuple[str, int, int]:
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


def _confusion_png(matrix: list[list[float]], accuracy: float | None) -> tuple[str, int, int]:
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


# ----- the page ------------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""

_CSS = """:root {
  --text: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa;
  --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #c62828; --bad-bg: #ffebe9; --part: #9a6700; --part-bg: #fff8c5;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: #eef1f4; color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial,
    "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
main { max-width: 1040px; margin: 24px auto; padding: 24px 36px 36px; background: #fff;
  border: 1px solid var(--line); border-radius: 8px; }
h1 { font-size: 1.65em; margin: 0 0 .3em; overflow-wrap: anywhere; }
h2 { font-size: 1.25em; margin: 1.8em 0 .7em; padding-bottom: .3em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1em; margin: 0; }
p { margin: .4em 0; }
a { color: inherit; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
pre { margin: .6em 0 0; padding: 10px 12px; background: var(--head); border: 1px solid var(--line);
  border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.45; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-style: italic; }
.ok { color: var(--ok); font-weight: 600; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0 0 1em; color: var(--muted); }
.meta div { display: flex; gap: 6px; }
.meta dt::after { content: ":"; }
:lang(zh) .meta dt::after { content: "："; }
.meta dd { margin: 0; color: var(--text); }
.total { font-size: 1.15em; margin: .8em 0 .3em; }
.total .label { color: var(--muted); margin-right: .4em; }
.total strong { font-size: 1.6em; }
.bar { height: 8px; max-width: 420px; margin-top: 6px; background: #e3e8ee; border-radius: 4px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--ok); }
.summary { font-weight: 600; }
.banner { margin: 1em 0; padding: 10px 14px; border: 1px solid var(--bad); border-left-width: 6px;
  border-radius: 6px; background: var(--bad-bg); color: var(--bad); font-weight: 600; }
table { width: 100%; border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.exercise > * { background: #f0f3f6; font-weight: 600; }
tr.exercise th code { font-size: 1em; margin-right: .4em; }
tr.check td:first-child { padding-left: 20px; color: var(--muted); white-space: nowrap; }
tr.check div { font-size: .9em; }
tr.mismatch td { background: var(--bad-bg); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 12px; font-size: .85em; font-weight: 600; white-space: nowrap; }
.badge.passed { color: var(--ok); background: var(--ok-bg); }
.badge.failed { color: var(--bad); background: var(--bad-bg); }
.badge.partial { color: var(--part); background: var(--part-bg); }
tr.mismatch .badge.failed { background: #fff; }
.failure { margin: 0 0 14px; padding: 10px 14px 12px; border: 1px solid var(--line);
  border-left: 5px solid var(--bad); border-radius: 6px; }
.failure.partial { border-left-color: #d4a72c; }
.failure .points { float: right; font-weight: normal; color: var(--muted); font-variant-numeric: tabular-nums; }
.failure p { margin: .2em 0 0; font-size: .92em; }
figure { margin: 1.2em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { margin-top: .4em; color: var(--muted); font-size: .92em; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; margin: 0; padding: 0; border: 0; }
  a { text-decoration: none; }
  tr, figure, .failure, .banner { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""
