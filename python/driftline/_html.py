"""A Report as one self-contained HTML page: plain SVG plots, one small inline script to sort and filter.

Plain SVG written here rather than matplotlib: a 200-feature report stays a
few hundred kilobytes (a matplotlib SVG is ~30 kB per plot, and importing it
costs more than rendering the whole page), there is no dependency to install,
and the page works with scripts off (only sorting and filtering need them).
Every text that comes from data (feature names, categories, reasons) is
escaped. Size: O(features x cells), never the data's rows.
"""

from __future__ import annotations

import html
import math
from typing import Any, Iterable, Optional

from .report import Distribution, FeatureReport, Report, Status, Timeline

_COLOR = {"ok": "#2e7d32", "warn": "#ef8f00", "alert": "#c62828", "insufficient data": "#757575"}
_LEVEL_COLOR = {-1: "#e0e0e0", 0: "#a5d6a7", 1: "#ffcc80", 2: "#ef9a9a"}
_SEVERITY = {"alert": 0, "warn": 1, "insufficient data": 2, "ok": 3}
_LABELLED_CELLS = 16  # up to this many cells, every cell gets a label under its bars
_OPEN_PLOTS = 24  # plots of flagged features shown open; the rest start collapsed

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212121;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
table{border-collapse:collapse;width:100%} th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{cursor:pointer;background:#fafafa;position:sticky;top:0;user-select:none} th:hover{background:#eee}
td.name,th.name,td.kind{text-align:left} td.name{font-family:ui-monospace,monospace;word-break:break-all}
.muted{color:#757575} ul{margin:4px 0} .grid{display:flex;flex-wrap:wrap;gap:12px}
details{border:1px solid #e0e0e0;border-radius:6px;padding:6px 10px;width:560px}
summary{cursor:pointer;font-family:ui-monospace,monospace} input{padding:4px 8px;width:260px;margin:4px 0 8px}
"""

_SCRIPT = """
(function(){
  var table=document.getElementById('features'); if(!table) return;
  var body=table.tBodies[0];
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('data-dir')!=='asc';
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('data-dir');});
      th.setAttribute('data-dir',asc?'asc':'desc');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
        var nx=parseFloat(x),ny=parseFloat(y),r;
        if(!isNaN(nx)&&!isNaN(ny)) r=nx-ny; else if(isNaN(nx)!==isNaN(ny)) r=isNaN(nx)?1:-1; else r=x<y?-1:(x>y?1:0);
        return asc?r:-r;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  var filter=document.getElementById('filter');
  filter.addEventListener('input',function(){
    var q=filter.value.toLowerCase();
    Array.prototype.forEach.call(body.rows,function(r){
      r.style.display=r.cells[0].textContent.toLowerCase().indexOf(q)>=0?'':'none';
    });
  });
})();
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _num(v: Optional[float], fmt: str = ".3f") -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _sort_value(v: Optional[float]) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def render(report: Report) -> str:
    status = str(report.status)
    scope = "batch comparison" if report.source == "compare" else f"last {report.span:g} s at t={report.time:.0f}"
    features = sorted(report.features.values(), key=lambda f: (_SEVERITY[str(f.status)], -_finite(f.psi), f.name))
    counts = {s.value: sum(1 for f in features if f.status == s) for s in Status}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>driftline report: {_e(status)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>driftline report <span class='badge' style='background:{_COLOR[status]}' id='status'>{_e(status.upper())}</span></h1>",
        f"<div class='muted'>{_e(scope)}, {report.rows} rows, {len(features)} features: "
        + ", ".join(f"{n} {_e(s)}" for s, n in counts.items() if n)
        + "</div>",
        _hidden_rows(report),
        _reasons(report.reasons),
        "<h2>Features</h2><input id='filter' type='search' placeholder='filter features by name'>",
        _table(features),
        _timeline(report.timeline, [f.name for f in features]),
        _plots(features),
        _schema(report),
        _latency(report),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _finite(v: Optional[float]) -> float:
    return v if v is not None and math.isfinite(v) else -1.0


def _hidden_rows(report: Report) -> str:
    hidden = {"before the span": report.before_span, "expired": report.expired, "late": report.late, "future": report.future}
    shown = [f"{n} {what}" for what, n in hidden.items() if n]
    return f"<div class='muted'>not shown: {_e(', '.join(shown))}</div>" if shown else ""


_FIRST_REASONS = 8


def _reasons(reasons: Iterable[str]) -> str:
    """The first reasons in view, the rest one click away (200 flagged features must not bury the table)."""
    items = [f"<li>{_e(r)}</li>" for r in reasons]
    if not items:
        return ""
    first, rest = "".join(items[:_FIRST_REASONS]), "".join(items[_FIRST_REASONS:])
    more = f"<details style='width:auto'><summary>{len(items) - _FIRST_REASONS} more</summary><ul>{rest}</ul></details>" if rest else ""
    return f"<h2>Why</h2><ul id='reasons'>{first}</ul>{more}"


_COLUMNS = ("feature", "kind", "status", "count", "PSI", "noise floor", "KS", "KS p", "missing", "range/unseen")


def _table(features: list[FeatureReport]) -> str:
    head = "".join(f"<th{' class=name' if c == 'feature' else ''}>{_e(c)}</th>" for c in _COLUMNS)
    rows = []
    for f in features:
        rate = f.out_of_range_rate if f.kind == "numeric" else f.unseen_rate
        p = f.ks_pvalue_adjusted if f.ks_pvalue_adjusted is not None else f.ks_pvalue
        status = str(f.status)
        cells = [
            f"<td class='name' data-v='{_e(f.name)}'><a href='#f-{_anchor(f.name)}'>{_e(f.name)}</a></td>",
            f"<td class='kind' data-v='{f.kind}'>{f.kind}</td>",
            f"<td data-v='{_SEVERITY[status]}' style='color:{_COLOR[status]};font-weight:600'>{_e(status)}</td>",
            f"<td data-v='{f.count}'>{f.count}</td>",
            f"<td data-v='{_sort_value(f.psi)}'>{_num(f.psi)}</td>",
            f"<td data-v='{_sort_value(f.psi_noise_floor)}'>{_num(f.psi_noise_floor)}</td>",
            f"<td data-v='{_sort_value(f.ks)}'>{_num(f.ks)}</td>",
            f"<td data-v='{_sort_value(p)}'>{_num(p, '.2g')}</td>",
            f"<td data-v='{_sort_value(f.missing_rate)}'>{_num(f.missing_rate, '.1%')}</td>",
            f"<td data-v='{_sort_value(rate)}'>{_num(rate, '.1%')}</td>",
        ]
        rows.append(f"<tr data-status='{_e(status)}'>{''.join(cells)}</tr>")
    return f"<table id='features'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _anchor(name: str) -> str:
    return "".join(c if c.isalnum() else f"_{ord(c):x}" for c in name)


def _timeline(timeline: Optional[Timeline], order: list[str]) -> str:
    """Features x buckets, one rectangle per run of equal levels (so 200 features x 60 buckets stays small)."""
    if timeline is None or not timeline.starts:
        return ""
    buckets = len(timeline.starts)
    width, row, label = 720.0, 12, 180
    step = (width - label) / buckets
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{row * len(order) + 18}' id='timeline'>"]
    for y, name in enumerate(order):
        levels = timeline.levels.get(name, ())
        top = y * row
        svg.append(f"<text x='0' y='{top + 10}' font-size='10' font-family='monospace'>{_e(name[:28])}</text>")
        start = 0
        for i in range(1, len(levels) + 1):
            if i == len(levels) or levels[i] != levels[start]:
                svg.append(
                    f"<rect x='{label + start * step:.1f}' y='{top + 1}' width='{(i - start) * step:.1f}' height='{row - 2}' "
                    f"fill='{_LEVEL_COLOR.get(levels[start], '#e0e0e0')}'/>"
                )
                start = i
    bottom = row * len(order) + 14
    first, last = timeline.starts[0], timeline.starts[-1]
    svg.append(f"<text x='{label}' y='{bottom}' font-size='10'>t={first:g}</text>")
    svg.append(f"<text x='{width:.0f}' y='{bottom}' font-size='10' text-anchor='end'>t={last:g}</text></svg>")
    legend = " ".join(
        f"<span style='background:{c};padding:0 6px'>{t}</span>"
        for t, c in (("not judged", _LEVEL_COLOR[-1]), ("ok", _LEVEL_COLOR[0]), ("warn", _LEVEL_COLOR[1]), ("alert", _LEVEL_COLOR[2]))
    )
    return f"<h2>Timeline (per bucket, oldest first)</h2><div class='muted'>{legend}</div>{''.join(svg)}"


def _plots(features: list[FeatureReport]) -> str:
    shown = [f for f in features if f.distribution is not None]
    if not shown:
        return ""
    cards = []
    opened = 0
    for f in shown:
        flagged = f.status in (Status.WARN, Status.ALERT)
        is_open = flagged and opened < _OPEN_PLOTS
        opened += is_open
        assert f.distribution is not None
        contributors = [c for c in f.top_contributors if c.psi > 0.01 * _finite(f.psi)]  # the ones that matter
        top = ", ".join(f"{c.cell} (PSI {c.psi:.3f})" for c in contributors)
        cards.append(
            f"<details id='f-{_anchor(f.name)}'{' open' if is_open else ''}><summary>"
            f"<span style='color:{_COLOR[str(f.status)]}'>&#9679;</span> {_e(f.name)} "
            f"<span class='muted'>{_e(f.status)}, PSI {_num(f.psi)}</span></summary>"
            + _bars(f.distribution, {c.cell for c in contributors})
            + (f"<div class='muted'>top contributors: {_e(top)}</div>" if top else "")
            + "".join(f"<div>{_e(r)}</div>" for r in f.reasons)
            + "</details>"
        )
    return "<h2>Distributions (reference grey, current blue; &#9650; top contributors)</h2><div class='grid'>" + "".join(cards) + "</div>"


def _bars(d: Distribution, marked: set[str]) -> str:
    """Reference and current proportions per cell, side by side; each cell's label in its tooltip."""
    width, height, pad = 540.0, 150.0, 16.0
    cells = len(d.labels)
    step = (width - 2 * pad) / max(cells, 1)
    top = max(max(d.reference, default=0.0), max(d.current, default=0.0)) or 1.0
    scale = (height - 30) / top
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}'>"]
    base = height - 14
    svg.append(f"<line x1='{pad}' y1='{base}' x2='{width - pad}' y2='{base}' stroke='#9e9e9e'/>")
    for i, (label, r, c) in enumerate(zip(d.labels, d.reference, d.current)):
        x = pad + i * step
        bar = step * 0.42
        svg.append(
            f"<g><title>{_e(label)}: reference {r:.1%}, current {c:.1%}</title>"
            f"<rect x='{x + step * 0.08:.1f}' y='{base - r * scale:.1f}' width='{bar:.1f}' height='{r * scale:.1f}' fill='#bdbdbd'/>"
            f"<rect x='{x + step * 0.5:.1f}' y='{base - c * scale:.1f}' width='{bar:.1f}' height='{c * scale:.1f}' fill='#1e88e5'/>"
        )
        if label in marked:
            svg.append(f"<text x='{x + step / 2:.1f}' y='12' font-size='11' text-anchor='middle' fill='#c62828'>&#9650;</text>")
        svg.append("</g>")
    if cells <= _LABELLED_CELLS:  # each cell's label under it, cut to the cell's width
        chars = max(int(step / 6), 3)
        for i, label in enumerate(d.labels):
            text = label if len(label) <= chars else label[: chars - 1] + "…"
            svg.append(
                f"<text x='{pad + (i + 0.5) * step:.1f}' y='{height - 2}' font-size='10' text-anchor='middle'>{_e(text)}</text>"
            )
    else:
        svg.append(f"<text x='{pad}' y='{height - 2}' font-size='10'>{_e(d.labels[0][:30])}</text>")
        svg.append(f"<text x='{width - pad}' y='{height - 2}' font-size='10' text-anchor='end'>{_e(d.labels[-1][:30])}</text>")
    svg.append("</svg>")
    return "".join(svg)


def _schema(report: Report) -> str:
    s = report.schema
    if not (s.missing or s.unexpected or s.renames):
        return ""
    items = [f"<li>missing from the data: {_e(n)} ({rate:.1%} of rows without it)</li>" for n, rate in s.missing.items()]
    items += [f"<li>unexpected: {_e(n)} ({count} values)</li>" for n, count in s.unexpected.items()]
    items += [f"<li>probable rename: {_e(a)} &rarr; {_e(b)} (PSI {p:.3f})</li>" for a, b, p in s.renames]
    return f"<h2>Schema <span style='color:{_COLOR[str(s.status)]}'>{_e(s.status)}</span></h2><ul id='schema'>{''.join(items)}</ul>"


def _latency(report: Report) -> str:
    lat = report.latency
    if not lat.count:
        return ""
    cells = "".join(
        f"<td>{v * 1e3:.2f} ms</td>" for v in (lat.p50, lat.p90, lat.p99, lat.p999, lat.max)
    )
    return (
        f"<h2>Latency <span style='color:{_COLOR[str(lat.status)]}'>{_e(lat.status)}</span></h2>"
        f"<table id='latency' style='width:auto'><tr><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>"
        f"<th>max</th></tr><tr><td>{lat.count}</td>{cells}</tr></table>"
    )
