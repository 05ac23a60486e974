"""The report as Markdown and as one self-contained HTML page (inline style, pictures embedded
as small JPEG thumbnails, links to the run folders relative to the page)."""

from __future__ import annotations

import base64
import html
import io
import os
from collections import Counter
from pathlib import Path

from inr_bench.report.collect import Problem, Run
from inr_bench.report.match import Result

HEAD = ["row", "paper", "table", "row (paper)", "metric", "ours", "n", "paper's", "delta",
        "tolerance", "verdict", "budget", "runs"]  # fmt: skip


def number(value: float | None, metric: str) -> str:
    """``value`` with the decimals its metric is published with: 2 for PSNR (dB), 3
    significant digits for Chamfer distances, 4 for SSIM and IoU."""
    if value is None:
        return "–"
    if "psnr" in metric:
        return f"{value:.2f}"
    return f"{value:.3g}" if "chamfer" in metric else f"{value:.4f}"


def ours(result: Result) -> str:
    metric = result.row.metric
    if result.mean is None:
        return "–"
    spread = f" ± {number(result.std, metric)}" if result.std is not None else ""
    return number(result.mean, metric) + spread


def delta(result: Result) -> str:
    d = result.delta
    return "–" if d is None else ("+" if d >= 0 else "−") + number(abs(d), result.row.metric)


def coverage(result: Result) -> str:
    """n runs, and the items covered out of those --run would train when fewer."""
    launch = result.row.launch.get(result.budget, ())
    text = str(len(result.values))
    if result.values and len(set(result.items) & set(launch)) < len(launch):
        text += f" ({len(result.items)}/{len(launch)} items)"
    return text


def cells(result: Result) -> list[str]:
    row = result.row
    return [row.id, row.paper, row.table, row.row, row.metric, ours(result), coverage(result),
            number(row.published.value, row.metric), delta(result),
            str(row.tolerance[result.budget]), result.verdict, result.budget]  # fmt: skip


def link(target: Path, base: Path, text: str) -> str:
    return f"[{text}]({os.path.relpath(target, base)})"


def run_links(result: Result, base: Path, limit: int = 4) -> str:
    """Links to the first run folders (and the first one's main picture)."""
    folders: dict[Path, Run] = {}  # folder -> its first run (a batched folder holds several)
    for run in result.runs:
        folders.setdefault(run.folder, run)
    parts = [link(f, base, "batched" if r.member is not None else r.item or f.name)
             for f, r in folders.items()]  # fmt: skip
    more = f" +{len(folders) - limit}" if len(folders) > limit else ""
    pictures = result.runs[0].pictures if result.runs else []
    picture = f" · {link(pictures[0], base, pictures[0].name)}" if pictures else ""
    return ", ".join(parts[:limit]) + more + picture


def summary(results: list[Result]) -> str:
    lines = []
    for budget in dict.fromkeys(r.budget for r in results):
        mine = [r for r in results if r.budget == budget]
        counts = Counter(r.verdict for r in mine)
        parts = [f"{counts[v]} {v}" for v in ("within", "outside", "no value", "not run",
                                              "no config") if counts[v]]  # fmt: skip
        lines.append(f"- **{budget} budget**: {len(mine)} rows: " + ", ".join(parts) + ".")
    return "\n".join(lines)


def listings(
    results: list[Result], unmatched: list[Run], problems: list[Problem]
) -> list[tuple[str, list[tuple[Path | None, str, str]]]]:
    """The sections after the table: (title, [(folder or None, name, note)])."""
    issues = problems + [p for r in results for p in r.problems]
    configless = [
        (None, f"{r.row.id} ({r.budget})", r.unavailable) for r in results if r.unavailable
    ]
    return [
        (f"Runs that match no row ({len(unmatched)})",
         [(r.folder, r.label, f"item {r.item or '–'}") for r in unmatched]),
        (f"Problems ({len(issues)})", [(p.folder, str(p.folder), p.message) for p in issues]),
        (f"Rows without a config at a budget ({len(configless)})", configless),
    ]  # fmt: skip


def index(results: list[Result]) -> list[list[str]]:
    """Per row and budget: the overrides that produce it, its items, its tolerance and why."""
    out = []
    for result in results:
        row, b = result.row, result.budget
        launch = row.launch.get(b, ())
        items = ", ".join(launch[:3]) + (f" … ({len(launch)})" if len(launch) > 3 else "")
        tolerance = row.tolerance[b]
        out.append([row.id, b, " ".join(row.overrides_for(b)), items,
                    f"{tolerance}: {tolerance.reason}"])  # fmt: skip
    return out


INDEX_HEAD = ["row", "budget", "overrides (python -m inr_bench.train ...)", "items", "tolerance"]


def markdown(
    results: list[Result], unmatched: list[Run], problems: list[Problem], base: Path, intro: str
) -> str:
    """The whole report; links relative to ``base`` (the folder the file is written to)."""
    out = [intro, "", summary(results), ""]
    out += ["| " + " | ".join(HEAD) + " |", "|---" * len(HEAD) + "|"]
    out += ["| " + " | ".join([*cells(r), run_links(r, base)]) + " |" for r in results]
    out += ["", "## Index: how each row is produced", ""]
    out += ["| " + " | ".join(INDEX_HEAD) + " |", "|---" * len(INDEX_HEAD) + "|"]
    out += [
        "| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in index(results)
    ]
    for title, entries in listings(results, unmatched, problems):
        out += ["", f"## {title}", ""]
        out += [f"- {link(f, base, name) if f else name}: {note}" for f, name, note in entries]
        out += [] if entries else ["none"]
    return "\n".join(out) + "\n"


def thumbnail(picture: Path, size: int = 112) -> str:
    """A data: URI of a small JPEG of ``picture`` (empty when it cannot be read)."""
    try:
        from PIL import Image

        with Image.open(picture) as im:
            im = im.convert("RGB")
            im.thumbnail((size * 3, size))
            buffer = io.BytesIO()
            im.save(buffer, "JPEG", quality=70)
    except (OSError, ValueError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#eee}.within{background:#dfd}.outside{background:#fdd}.not-run,.no-config{color:#888}
.no-value{background:#ffd}img{display:block;max-height:112px}pre{white-space:pre-wrap}"""


def page(
    results: list[Result], unmatched: list[Run], problems: list[Problem], base: Path, intro: str
) -> str:
    """The self-contained HTML page: the summary, the table with thumbnails, the lists."""
    esc = html.escape
    rows = []
    for result in results:
        tds = "".join(f"<td>{esc(c)}</td>" for c in cells(result))
        folders = list(dict.fromkeys(r.folder for r in result.runs))
        links = " ".join(
            f'<a href="{esc(os.path.relpath(f, base))}">{i + 1}</a>' for i, f in enumerate(folders)
        )
        picture = result.runs[0].pictures[:1] if result.runs else []
        uri = thumbnail(picture[0]) if picture else ""
        image = (
            f'<a href="{esc(os.path.relpath(picture[0], base))}"><img src="{uri}"></a>'
            if uri
            else ""
        )
        css = result.verdict.replace(" ", "-")
        rows.append(f'<tr class="{css}">{tds}<td>{links}{image}</td></tr>')

    def table(head: list[str], body: list[str]) -> str:
        return (
            "<table><tr>"
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr>"
            + "".join(body)
            + "</table>"
        )

    parts = [f"<pre>{esc(intro)}</pre>", f"<pre>{esc(summary(results))}</pre>"]
    parts.append(table([*HEAD], rows))
    parts.append("<h2>Index: how each row is produced</h2>")
    parts.append(
        table(
            INDEX_HEAD,
            [
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in line) + "</tr>"
                for line in index(results)
            ],
        )
    )
    for title, entries in listings(results, unmatched, problems):
        items = [
            (f'<a href="{esc(os.path.relpath(f, base))}">{esc(name)}</a>' if f else esc(name))
            + f": {esc(note)}"
            for f, name, note in entries
        ]
        parts.append(
            f"<h2>{esc(title)}</h2><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
        )
    return (
        "<!doctype html><meta charset=utf-8><title>inr_bench reproduction report</title>"
        f"<style>{STYLE}</style>" + "".join(parts)
    )
