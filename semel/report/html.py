"""The report as one self-contained HTML file: inline CSS, inline SVG, a few lines of inline JS.

Nothing is fetched when the page opens (no CDN, no fonts, no images by URL), so it works offline, from
an e-mail attachment, or on a cluster's login node. Sections with no data are left out.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
from typing import Any

import numpy as np

from semel import __version__
from semel.report.data import Pair, ReportData
from semel.report.diff import highlight_spans, word_diff
from semel.report.plots import (
    bar_chart,
    s_curve,
    similarity_histogram,
    size_bins,
    span_length_chart,
    stage_bars,
)

E = html.escape

CSS = """
:root{--fg:#1d2430;--muted:#5d6776;--line:#dde2ea;--bg:#f6f7f9;--card:#fff;--accent:#2f6fdb;
  --del:#fde3e1;--del-fg:#8f1d14;--ins:#dcf5e3;--ins-fg:#14622f;--mark:#ffe58f}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
  background:var(--bg)}
header{background:#1d2430;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:20px;font-weight:600}
header .meta{color:#b8c2d3;font-size:13px;margin-top:4px;word-break:break-all}
main{max-width:1240px;margin:0 auto;padding:20px 32px 60px}
section{margin-top:28px}
h2{font-size:17px;margin:0 0 10px;font-weight:600}
h3{font-size:14px;margin:0 0 6px;font-weight:600}
.note{background:#fff8e1;border:1px solid #f2d98c;border-radius:6px;padding:8px 12px;
  margin-top:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card .n{color:var(--muted);font-size:12px}
.share{display:flex;height:14px;border-radius:7px;overflow:hidden;margin:12px 0 4px;
  background:var(--line)}
.share span{display:block;height:100%}
.legend{color:var(--muted);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px}
.c-kept{background:#7fa7e8}
.c-exact{background:#d9534f}
.c-near{background:#f0ad4e}
.c-repair{background:#9b59b6}
.c-dropped{background:#555}
.c-lines{background:#5bc0de}
.c-substrings{background:#2ca58d}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:14px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
svg.chart{width:100%;height:auto;display:block}
svg .bar{fill:#5b8def}
svg .bar:hover{fill:#2f6fdb}
svg .grid{stroke:#eef0f4}
svg .axis{stroke:#8a94a6}
svg .tick{font-size:11px;fill:#5d6776}
svg .label{font-size:12px;fill:#1d2430}
svg .marker{stroke:#d9534f;stroke-dasharray:5 4;stroke-width:1.5}
svg .marker-label{font-size:11px;fill:#b52b27}
svg .curve{fill:none;stroke:#2f6fdb;stroke-width:2.5}
svg .area{fill:#f0ad4e;opacity:.25}
svg .dot{fill:#d9534f}
svg .empty{fill:#8a94a6;font-size:13px}
svg.stages{max-width:620px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:500;font-size:12px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.pair{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;
  margin-bottom:14px}
.pair .head{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:baseline;margin-bottom:8px}
.pair .head .muted{color:var(--muted);font-size:12px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff}
.diff{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.diff>div{border:1px solid var(--line);border-radius:6px;padding:8px 10px;max-height:340px;
  overflow:auto;white-space:pre-wrap;word-wrap:break-word;font-size:13px;background:#fcfcfd}
.diff .title{font-size:12px;color:var(--muted);margin-bottom:4px;white-space:normal}
del{background:var(--del);color:var(--del-fg);text-decoration:line-through;
  text-decoration-color:#e5a19b}
ins{background:var(--ins);color:var(--ins-fg);text-decoration:none}
mark{background:var(--mark);border-bottom:2px solid #e0a800}
.fold{color:#8a94a6;font-style:italic;background:#eef0f4;border-radius:4px;padding:0 4px}
.text{border:1px solid var(--line);border-radius:6px;padding:8px 10px;max-height:340px;
  overflow:auto;white-space:pre-wrap;font-size:13px;background:#fcfcfd}
details summary{cursor:pointer;color:var(--accent)}
#search{display:flex;gap:8px;align-items:center}
#search input{flex:1;max-width:480px;padding:7px 10px;border:1px solid #b9c2d0;border-radius:6px;
  font-size:14px}
#search button{padding:7px 14px;border:0;border-radius:6px;background:var(--accent);color:#fff;
  font-size:14px;cursor:pointer}
#result{margin-top:10px}
#result .found{background:var(--card);border:1px solid var(--line);border-radius:8px;
  padding:10px 14px}
.hit{outline:3px solid var(--accent);outline-offset:2px}
nav{font-size:13px;margin-top:8px}
nav a{color:#b8c2d3;margin-right:14px;text-decoration:none}
nav a:hover{color:#fff}
"""

JS = r"""
(function(){
  var idx=null, byId=null, keptSet=null;
  var names={e:'exact copy',n:'near copy',o:'kept (original of a cluster)',u:'kept (unique)',
    r:'repaired',d:'dropped',l:'lines removed',s:'substrings removed'};
  function load(){
    if(idx) return;
    idx=JSON.parse(document.getElementById('index-data').textContent);
    byId=new Map(); for(var i=0;i<idx.ids.length;i++) byId.set(idx.ids[i],i);
    keptSet=new Map(); for(var j=0;j<idx.kept_ids.length;j++) keptSet.set(idx.kept_ids[j],j);
  }
  function esc(s){
    return String(s).replace(/[&<>"]/g,function(c){
      return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});
  }
  function link(x){return '<a href="#" class="mono" data-go="'+esc(x)+'">'+esc(x)+'</a>';}
  function cards(id){
    var out=[];
    document.querySelectorAll('[data-ids]').forEach(function(el){
      if(JSON.parse(el.getAttribute('data-ids')).indexOf(id)>=0) out.push(el);});
    return out;
  }
  function notFound(id){
    if(idx.complete) return 'not removed: kept as a unique document (if it is in the input)';
    if(idx.removed_total===null) return 'not among the examples embedded in this report';
    return 'not among the '+idx.ids.length.toLocaleString()+' removed documents embedded here (of '
      +idx.removed_total.toLocaleString()+'); it may be kept';
  }
  function show(id){
    load();
    var res=document.getElementById('result'), html='<b class="mono">'+esc(id)+'</b>: ';
    var i=byId.get(id);
    document.querySelectorAll('.hit').forEach(function(el){el.classList.remove('hit');});
    if(i!==undefined){
      var r=idx.reason.charAt(i);
      html+='<b>'+esc(names[r]||r)+'</b>';
      if(idx.kept_ids.length){
        html+=' — kept in its place: '+link(idx.kept_ids[idx.cluster[i]]);
        if(idx.sim.length) html+=', similarity '+(idx.sim[i]/1000).toFixed(3);
      }
    } else if(keptSet.has(id)){
      var c=keptSet.get(id), n=0;
      for(var q=0;q<idx.cluster.length;q++) if(idx.cluster[q]===c) n++;
      html+='<b>kept</b> — the original of a cluster ('+n+' removed cop'+(n===1?'y':'ies')
        +' in the index)';
    } else {
      html+=notFound(id);
      var similar=[];
      for(var s=0;s<idx.ids.length&&similar.length<10;s++)
        if(id&&idx.ids[s].indexOf(id)>=0) similar.push(idx.ids[s]);
      if(similar.length) html+='<br>ids containing it: '+similar.map(link).join(', ');
    }
    var cs=cards(id);
    if(cs.length){
      html+='<br>shown below in '+cs.length+' example'+(cs.length>1?'s':'')+' (outlined).';
      cs.forEach(function(el){el.classList.add('hit');});
      cs[0].scrollIntoView({block:'nearest'});
    }
    html+='<br><span class="muted">details: </span><code>semel explain '
      +esc(document.body.getAttribute('data-out'))+' '+esc(id)+'</code>';
    res.innerHTML='<div class="found">'+html+'</div>';
  }
  document.getElementById('search').addEventListener('submit',function(e){
    e.preventDefault(); show(document.getElementById('q').value.trim());});
  document.getElementById('result').addEventListener('click',function(e){
    var go=e.target.getAttribute('data-go');
    if(go){e.preventDefault(); document.getElementById('q').value=go; show(go);}});
})();
"""

COLORS = {"kept": "c-kept", "exact": "c-exact", "near": "c-near", "repair": "c-repair",
          "dropped": "c-dropped", "lines": "c-lines", "substrings": "c-substrings"}


def _json_script(element_id: str, obj: Any) -> str:
    """JSON inside <script type=application/json>; '<' escaped so no text can close the element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _summary(data: ReportData) -> str:
    cards = "".join(f'<div class="card"><div class="k">{E(k)}</div><div class="v">{E(v)}</div>'
                    f'<div class="n">{E(n)}</div></div>' for k, v, n in data.summary)
    out = f'<section id="summary"><h2>Summary</h2><div class="cards">{cards}</div>'
    if data.removed_by_reason:
        docs = int(data.run.stats.get("documents") or 0)
        parts = dict(data.removed_by_reason)
        if data.run.job == "dedup":
            parts = {"kept": int(data.run.stats.get("kept") or 0), **parts}
        total = docs or sum(parts.values()) or 1
        bar = "".join(f'<span class="{COLORS.get(k, "c-kept")}" style="width:{100 * v / total:.3f}%" '
                      f'title="{E(k)}: {v:,}"></span>' for k, v in parts.items())
        legend = "".join(f'<i class="{COLORS.get(k, "c-kept")}"></i>{E(k)} {v:,}' for k, v in parts.items())
        out += f'<div class="share">{bar}</div><div class="legend">{legend}</div>'
    return out + "</section>"


def _plots(data: ReportData) -> str:
    figs = []
    if data.cluster_sizes is not None:
        labels, counts = size_bins(data.cluster_sizes)
        figs.append(bar_chart(labels, counts, "Cluster sizes", "documents in the cluster", "clusters")
                    + "<figcaption>Clusters of two or more documents, by size (hover a bar for the count)."
                    "</figcaption>")
    if data.near_similarities is not None and data.threshold is not None:
        figs.append(similarity_histogram(data.near_similarities, data.threshold)
                    + "<figcaption>Exact Jaccard similarity of each removed near copy to the document kept "
                    "in its place. Values below the threshold joined the cluster through another member."
                    "</figcaption>")
    if data.bands_rows and data.threshold is not None:
        b, r = data.bands_rows
        figs.append(s_curve(b, r, data.threshold)
                    + f"<figcaption>Probability that a pair becomes an LSH candidate with {b} bands × {r} "
                    "rows. Candidates are then verified on exact shingle sets; the shaded area is work "
                    "spent on pairs below the threshold.</figcaption>")
    if data.span_lengths is not None:
        n = int(data.span_lengths.size)
        median = f", median {int(np.median(data.span_lengths)):,} characters" if n else ""
        figs.append(span_length_chart(data.span_lengths)
                    + f"<figcaption>Length of each of the {n:,} removed spans{median}; bars double in "
                    "width (hover a bar for the count).</figcaption>")
    if not figs:
        return ""
    return '<section id="plots"><h2>Plots</h2><div class="plots">' + "".join(
        f"<figure>{f}</figure>" for f in figs) + "</div></section>"


def _stages(data: ReportData) -> str:
    stages = data.run.stats.get("stages") or []
    if not stages:
        return ""
    rows = "".join(f'<tr><td>{E(str(s.get("name")))}</td>'
                   f'<td class="num">{float(s.get("seconds") or 0):,.2f}</td>'
                   f'<td class="num">{float(s.get("peak_rss_mb") or 0):,.0f}</td>'
                   f'<td>{"resumed" if s.get("resumed") else ""}</td></tr>' for s in stages)
    return ('<section id="stages"><h2>Time and memory per stage</h2>' + stage_bars(stages)
            + '<table style="max-width:620px;margin-top:8px"><tr><th>stage</th><th class="num">seconds</th>'
            f'<th class="num">peak RSS (MB)</th><th></th></tr>{rows}</table></section>')


def _diff_block(data: ReportData, pair: Pair) -> str:
    kept, removed = data.texts.get(pair.kept), data.texts.get(pair.removed)
    if kept is None or removed is None:
        return '<p class="muted">Texts not available (inputs not readable).</p>'
    d = word_diff(kept, removed)
    return ('<div class="diff">'
            f'<div><div class="title">kept <b class="mono">{E(pair.kept)}</b> · {d.changed_left:,} words '
            f'not in the copy</div>{d.left}</div>'
            f'<div><div class="title">removed <b class="mono">{E(pair.removed)}</b> · {d.changed_right:,} '
            f'words not in the kept one</div>{d.right}</div></div>')


def _badge(reason: str) -> str:
    return f'<span class="badge {COLORS.get(reason, "c-kept")}">{E(reason)}</span>'


def _largest(data: ReportData) -> str:
    if not data.largest:
        return ""
    out = ['<section id="clusters"><h2>Largest clusters</h2>']
    for c in data.largest:
        ids = [c.kept] + [m[0] for m in c.members]
        rows = "".join(f'<tr><td class="mono">{E(m)}</td><td>{_badge(r)}</td>'
                       f'<td class="num">{s:.3f}</td></tr>' for m, r, s in c.members)
        more = c.size - 1 - len(c.members)
        more_row = f'<tr><td colspan="3" class="muted">… and {more:,} more</td></tr>' if more > 0 else ""
        out.append(f'<div class="pair" data-ids="{E(json.dumps(ids))}"><div class="head"><h3>{c.size:,} '
                   f'documents</h3><span>kept: <b class="mono">{E(c.kept)}</b></span></div>'
                   f'<details><summary>members removed in its favour (least similar first)</summary>'
                   '<table><tr><th>id</th><th>reason</th><th class="num">similarity</th></tr>'
                   f"{rows}{more_row}"
                   "</table></details>")
        if c.pair:
            out.append(f'<p class="muted" style="margin:8px 0 6px">Least similar member '
                       f'({c.pair.similarity:.3f}) against the kept document:</p>'
                       + _diff_block(data, c.pair))
        out.append("</div>")
    return "".join(out) + "</section>"


def _borderline(data: ReportData) -> str:
    if not data.borderline:
        return ""
    out = [f'<section id="borderline"><h2>Borderline pairs</h2><p class="muted">Removed near copies whose '
           f"similarity to the kept document is closest to the threshold ({data.threshold:g}): where a "
           "different threshold would change the result.</p>"]
    for p in data.borderline:
        out.append(f'<div class="pair" data-ids="{E(json.dumps([p.removed, p.kept]))}"><div class="head">'
                   f'<h3>similarity {p.similarity:.3f}</h3>{_badge(p.reason)}<span class="muted">cluster of '
                   f"{p.cluster_size:,}</span></div>{_diff_block(data, p)}</div>")
    return "".join(out) + "</section>"


def _span_examples(data: ReportData) -> str:
    if not data.span_examples:
        return ""
    out = ['<section id="examples"><h2>Removed text, in place</h2><p class="muted">Documents with the most '
           "text removed among the first ones found; removed spans are <mark>marked</mark> (hover for the "
           "kind and where the first copy is).</p>"]
    for e in data.span_examples:
        body = (highlight_spans(e.text, e.spans) if e.text is not None else
                "<p class='muted'>original text not available</p>")
        spans = ", ".join(f"{s.get('kind', '')} [{s['start']}:{s['end']}]" for s in e.spans[:8])
        more = f" … {len(e.spans) - 8} more" if len(e.spans) > 8 else ""
        out.append(f'<div class="pair" data-ids="{E(json.dumps([e.id]))}"><div class="head"><h3 class="mono">'
                   f'{E(e.id)}</h3><span class="muted">{e.removed_chars:,} characters in '
                   f"{len(e.spans)} span(s): "
                   f'{E(spans)}{more}</span></div><div class="text">{body}</div></div>')
    return "".join(out) + "</section>"


def _top_lines(data: ReportData) -> str:
    if not data.top_lines:
        return ""
    docs = int(data.run.stats.get("documents") or 0)
    unit = str(data.run.settings.get("unit") or "line")
    def cut(t: str, width: int = 300) -> str:
        return t if len(t) <= width else t[: width - 1] + "…"

    rows = "".join(f'<tr><td class="num">{i:,}</td><td class="mono">{E(cut(t))}</td>'
                   f'<td class="num">{n:,}</td>'
                   f'<td class="num">{100 * n / docs if docs else 0:.1f}%</td></tr>'
                   for i, (t, n) in enumerate(data.top_lines, 1))
    more = data.top_lines_total - len(data.top_lines)
    more_row = (f'<tr><td></td><td colspan="3" class="muted">… and {more:,} more (all in the '
                f".lines.parquet file)</td></tr>" if more > 0 else "")
    return (f'<section id="lines"><h2>Most frequent removed {E(unit)}s</h2><p class="muted">Each was '
            f"removed from every document it occurs in; an example of its text, and the number of "
            f"documents that contain it.</p><table><tr><th class=\"num\">#</th><th>{E(unit)}</th>"
            f'<th class="num">documents</th><th class="num">share</th></tr>{rows}{more_row}</table>'
            "</section>")


def _settings(data: ReportData) -> str:
    s = data.run.settings
    if not s:
        return ""
    rows = "".join(f'<tr><td class="mono">{E(k)}</td>'
                   f'<td class="mono">{E(json.dumps(v, default=str))}</td></tr>'
                   for k, v in sorted(s.items()))
    return f'<section id="settings"><h2>Settings</h2><table>{rows}</table></section>'


def _search(data: ReportData) -> str:
    if data.index is None:
        return ""
    idx = data.index
    if idx.get("removed_total") is None:
        scope = f"the {len(idx['ids']):,} documents shown as examples"
    elif idx["complete"]:
        scope = f"all {idx['removed_total']:,} removed documents and the clusters' kept documents"
    else:
        scope = (f"the first {len(idx['ids']):,} of {idx['removed_total']:,} removed documents "
                 "(input order); for others use semel explain")
    return ('<section id="find"><h2>Find a document</h2><form id="search"><input id="q" '
            'placeholder="document id" autocomplete="off" aria-label="document id"><button type="submit">'
            'Find</button></form><div class="muted" style="font-size:12px;margin-top:4px">'
            f"Searches {E(scope)}."
            '</div><div id="result"></div>' + _json_script("index-data", idx) + "</section>")


def render_html(data: ReportData) -> str:
    """The whole page."""
    run = data.run
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    notes = "".join(f'<div class="note">{E(n)}</div>' for n in data.notes)
    sections = [_summary(data), _plots(data), _search(data), _largest(data), _borderline(data),
                _top_lines(data), _span_examples(data), _stages(data), _settings(data)]
    nav_items = [("summary", "Summary"), ("plots", "Plots"), ("find", "Find"), ("clusters", "Clusters"),
                 ("borderline", "Borderline"), ("lines", "Lines"), ("examples", "Examples"),
                 ("stages", "Stages"), ("settings", "Settings")]
    body = "".join(sections)
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in nav_items if f'id="{a}"' in body)
    script = f"<script>{JS}</script>" if data.index is not None else ""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>semel {E(run.job)} report</title><style>{CSS}</style></head>"
            f'<body data-out="{E(run.output)}"><header><h1>semel {E(run.job)} report</h1>'
            f'<div class="meta">{E(run.output)} · engine {E(run.engine or "?")} · generated {now} by semel '
            f"{E(__version__)}</div><nav>{nav}</nav></header><main>{notes}{body}</main>{script}</body></html>")
