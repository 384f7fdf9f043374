"""Real-text corpora built from this machine's own files, for ``bench/bench_real.py`` (issue 9).

Nobody planted anything in these corpora: whatever semel removes from them, a person has to agree with. Each
corpus is a JSONL file of ``{"id", "text"}`` objects, ``id`` being the source path (``path#index`` for files
that hold many documents), cached under ``CACHE/corpora/NAME.jsonl``:

``man``
    English man pages of ``/usr/share/man/man[1-8]`` (gzip'd roff; symbolic links and ``.so`` alias stubs are
    skipped): every non-gcloud page, plus the gcloud pages of 7 command groups (:data:`GCLOUD_GROUPS`) in all
    three release tracks (GA, alpha, beta). ``gcloud_alpha_compute_instances_create.1.gz`` is command
    ``compute instances create`` in track ``alpha`` (:func:`gcloud_page`), which gives a natural truth: the
    same command in different tracks is a true copy, two different commands are not.

    Rendering: by default a small roff-to-text converter written here (:func:`roff_to_text`): it handles the
    ``man`` macros (``TH SH SS PP TP IP B I BR IR ...``), the common ``mdoc`` macros, ``tbl`` tables, ``.de``/
    ``.ig``/``.if`` blocks, strings and font/size/character escapes, and fills paragraphs to 80 columns. It is
    ~100x faster than ``groff`` (the ~6,400 pages take a few seconds, where ``groff`` needs 60-120 ms a page
    on a loaded 2-core machine, several minutes) and has no hyphenation or justification artefacts.
    ``--man-render groff`` renders with ``groff -mandoc -Tutf8 -rLL=80n -P-cbou`` instead (what ``man -l``
    runs, plain text without overstrikes) in a thread pool.

``kdoc``
    The Linux 6.1 ``Documentation`` tree of the Debian package ``linux-doc-6.1``
    (``/usr/share/doc/linux-doc-6.1/Documentation``, every file gzip'd): ``.rst`` and ``.txt`` files plus
    extension-less text files (``ABI/*`` entries, ``Changes`` ...), about 5,700 documents.

``copyright``
    ``/usr/share/doc/*/copyright`` (package folders that are symbolic links to another package's folder are
    read once).

``fortunes``
    ``/usr/share/games/fortunes/*`` of the Debian package ``fortunes`` (``.dat`` indexes and ``.u8`` links
    skipped), each file split on lines holding only ``%``; overstrikes (``X\\b``) are removed.

Documents whose text has no letter or digit are skipped in every corpus.

Run on its own to (re)build and count the corpora::

    .venv/bin/python bench/real_corpora.py [--cache /tmp/semel-real] [--rebuild] [man kdoc ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CORPORA = ("man", "kdoc", "copyright", "fortunes")
DEFAULT_CACHE = Path("/tmp/semel-real")

MAN_ROOT = Path("/usr/share/man")
KDOC_ROOT = Path("/usr/share/doc/linux-doc-6.1/Documentation")
DOC_ROOT = Path("/usr/share/doc")
FORTUNE_ROOT = Path("/usr/share/games/fortunes")

#: gcloud command groups in the ``man`` corpus (fixed, so the corpus is the same on every run): container
#: (large and heavily templated), iam, sql, kms, pubsub, dns and storage -- about 2,980 pages, 1,220 commands.
GCLOUD_GROUPS = ("container", "iam", "sql", "kms", "pubsub", "dns", "storage")
GCLOUD_TRACKS = ("ga", "alpha", "beta")

#: Debian packages each corpus needs (``man-db``/``groff-base`` only for ``--man-render groff``).
PACKAGES: dict[str, tuple[str, ...]] = {
    "man": ("man-db", "groff-base"),
    "kdoc": ("linux-doc-6.1",),
    "copyright": (),
    "fortunes": ("fortunes",),
}

_HAS_WORD = re.compile(r"[^\W_]")


# ---------------------------------------------------------------- packages
def _have(corpus: str) -> bool:
    if corpus == "man":
        return MAN_ROOT.is_dir() and any((MAN_ROOT / "man1").glob("*.gz"))
    if corpus == "kdoc":
        return KDOC_ROOT.is_dir()
    if corpus == "fortunes":
        return FORTUNE_ROOT.is_dir() and any(FORTUNE_ROOT.iterdir())
    return DOC_ROOT.is_dir()


def ensure_packages(corpora: list[str], groff: bool = False, wait_s: float = 900.0) -> None:
    """Install the Debian packages the corpora need, if their files are missing (``apt-get install -y``).

    Retries while another process holds the dpkg lock, for up to ``wait_s`` seconds.
    """
    need: list[str] = []
    for c in corpora:
        if not _have(c):
            need += [p for p in PACKAGES[c] if c != "man" or p == "man-db"]
    if groff and shutil.which("groff") is None:
        need.append("groff-base")
    need = sorted(set(need))
    if not need:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *need]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(f"semel bench: missing Debian packages {need}; install them as root: {' '.join(cmd)}")
        cmd = ["sudo", *cmd]
    print(f"[real-corpora] installing Debian packages the corpora need: {' '.join(cmd)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + wait_s
    updated = False
    while True:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode == 0:
            return
        err = p.stderr + p.stdout
        if ("Unable to locate package" in err or "has no installation candidate" in err) and not updated:
            print("[real-corpora] apt-get update", flush=True)
            subprocess.run([*cmd[: cmd.index("apt-get")], "apt-get", "update"], env=env, capture_output=True)
            updated = True
            continue
        if ("lock" in err.lower()) and time.monotonic() < deadline:
            print("[real-corpora] dpkg lock held by another process; retrying in 20 s", flush=True)
            time.sleep(20)
            continue
        sys.exit(f"semel bench: `{' '.join(cmd)}` failed:\n{err[-2000:]}")


# ---------------------------------------------------------------- helpers
def _read(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _write_jsonl(path: Path, docs: Iterator[tuple[str, str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for doc_id, text in docs:
            if _HAS_WORD.search(text):
                f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
                n += 1
    tmp.replace(path)
    return n


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    """Parallel id / text lists of a corpus file."""
    ids: list[str] = []
    texts: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            ids.append(d["id"])
            texts.append(d["text"])
    return ids, texts


# ---------------------------------------------------------------- gcloud pages
def gcloud_page(doc_id: str) -> tuple[str, str] | None:
    """``(command, track)`` of a gcloud man page id, e.g. ``("compute instances create", "alpha")``; None for
    other pages (and for the bare ``gcloud``/``gcloud_alpha`` pages and the ``preview`` track)."""
    name = os.path.basename(doc_id.split("#", 1)[0])
    if not name.startswith("gcloud_"):
        return None
    stem = re.sub(r"\.\d\w*(\.gz)?$", "", name)
    parts = stem.split("_")[1:]
    track = "ga"
    if parts and parts[0] in ("alpha", "beta", "preview"):
        track, parts = parts[0], parts[1:]
    if not parts or track not in GCLOUD_TRACKS:
        return None
    return " ".join(parts), track


# ---------------------------------------------------------------- roff -> text
_NAMED = {
    "em": "—", "en": "–", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": "“", "rq": "”", "oq": "‘",
    "cq": "’", "bu": "•", "co": "©", "rg": "®", "tm": "™", "ga": "`", "ha": "^", "ti": "~", "rs": "\\",
    "sl": "/", "ba": "|", "br": "|", "bv": "|", "<=": "≤", ">=": "≥", "!=": "≠", "mu": "×", "di": "÷",
    "de": "°", "+-": "±", "->": "→", "<-": "←", "fm": "′", "dg": "†", "sc": "§", "pl": "+", "eq": "=",
    "ul": "_", "at": "@", "sh": "#", "Do": "$", "lB": "[", "rB": "]", "lC": "{", "rC": "}", "la": "⟨",
    "ra": "⟩", "ps": "¶", "ct": "¢", "Po": "£", "Ye": "¥", "Eu": "€", "a-": "¯", "aa": "´", "'e": "é",
    "'a": "á", "`e": "è", "`a": "à", ":a": "ä", ":o": "ö", ":u": "ü", ":A": "Ä", ":O": "Ö", ":U": "Ü",
    "ss": "ß", ",c": "ç", "~n": "ñ", "ao": "å", "AE": "Æ", "ae": "æ", "o/": "ø", "es": "∅", "if": "∞",
    "pc": "·", "md": "⋅", "**": "∗", "sq": "□", "rh": "☞", "lh": "☜", "OK": "✓", "ff": "ff", "fi": "fi",
    "fl": "fl", "Fi": "ffi", "Fl": "ffl", "dd": "‡", "bq": "„", "Bq": "‚", "fo": "‹", "fc": "›", "Fo": "«",
    "Fc": "»", "ua": "↑", "da": "↓", "<>": "↔", "rA": "⇒", "lA": "⇐", "tf": "∴", "~~": "≈", "==": "≡",
    "pd": "∂", "gr": "∇", "no": "¬", "AN": "∧", "OR": "∨", "mo": "∈", "nm": "∉", "sb": "⊂", "sp": "⊃",
    "ca": "∩", "cu": "∪", "*a": "α", "*b": "β", "*g": "γ", "*d": "δ", "*e": "ε", "*l": "λ", "*m": "μ",
    "*p": "π", "*s": "σ", "*t": "τ", "*W": "Ω", "*S": "Σ", "*D": "Δ", "sr": "√", "is": "∫", "lz": "◊",
}
_STRINGS = {"lq": "“", "rq": "”", "R": "®", "Tm": "™", "Aq": "'", "Lq": "“", "Rq": "”", "C`": "", "C'": "",
            "PI": "π", "L\"": "“", "R\"": "”", "ga": "`", "aq": "'", "HF": "", "S": ""}
_ESC = re.compile(
    r"""\\(?:
      (?P<font>[fFgmMkYV](?:\[[^\]]*\]|\(..|.))
    | (?P<size>s(?:[-+]?(?:\(\d\d|\[[^\]]*\]|'[^']*'|\d)))
    | (?P<reg>n[-+]?(?:\(..|\[[^\]]*\]|.))
    | \((?P<n2>..)
    | \[(?P<nb>[^\]]*)\]
    | \*(?:\((?P<s2>..)|\[(?P<sb>[^\]]*)\]|(?P<s1>.))
    | (?P<charq>[CN])'(?P<cq>[^']*)'
    | (?P<quoted>[hvwlLoXbDZRSxABs])'[^']*'
    | z
    | (?P<one>.)
    )""",
    re.X,
)
_SIMPLE = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "'": "'", "`": "`", ".": ".",
           "t": "\t", "E": "\\"}
_NO_COMMENT = re.compile(r'(?:[^\\]|\\[^"#]|\\$)*')
_ARGS = re.compile(r'"((?:[^"]|"")*)"?|(\S+)')
_MDOC_CALLABLE = frozenset(
    "Ac Ad An Ao Ap Aq Ar At Bc Bo Bq Brc Bro Brq Bsx Bx Cd Cm Dc Dl Do Dq Dv Dx Ec Em En Eo Er Es Ev Fa "
    "Fc Fl Fn Fo Fr Ft Fx Ic In Li Lk Ms Mt Nm No Ns Nx Oc Oo Op Ot Ox Pa Pc Pf Po Pq Qc Ql Qo Qq Sc So Sq "
    "St Sx Sy Ta Tn Ux Va Vt Xc Xo Xr".split()
)
_MDOC_OPEN = {"Op": ("[", "]"), "Oo": ("[", ""), "Oc": ("", "]"), "Dq": ("“", "”"), "Qq": ('"', '"'),
              "Sq": ("‘", "’"), "Ql": ("‘", "’"), "Pq": ("(", ")"), "Aq": ("<", ">"), "Bq": ("[", "]"),
              "Brq": ("{", "}")}
_MDOC_NAMES = {"Ux": "UNIX", "Bx": "BSD", "Nx": "NetBSD", "Fx": "FreeBSD", "Ox": "OpenBSD", "Bsx": "BSD/OS",
               "Dx": "DragonFly", "At": "AT&T UNIX"}
# requests/macros that break the line (and, for the paragraph ones, leave a blank line)
_PARA = frozenset("PP LP P sp HP TP TQ IP Pp Lp Sh Ss Bl El It Bd Ed SH SS ne bp".split())
_BREAK = frozenset("br RS RE in ti ce Dl D1 nf fi EX EE TS TE".split())


def _escapes(s: str, strings: dict[str, str]) -> str:
    if "\\" not in s:
        return s

    def sub(m: re.Match[str]) -> str:
        g = m.lastgroup
        if g is None:  # \z
            return ""
        if g in ("font", "size", "reg", "quoted"):
            return ""
        if g in ("n2", "nb"):
            name = m.group(g)
            if name.startswith("u") and len(name) >= 5:
                try:
                    return chr(int(name[1:].split("_")[0], 16))
                except ValueError:
                    return ""
            return _NAMED.get(name, "")
        if g in ("s2", "sb", "s1"):
            name = m.group(g)
            return strings.get(name, _STRINGS.get(name, ""))
        if g in ("charq", "cq"):
            arg = m.group("cq")
            if m.group("charq") == "N":
                return chr(int(arg)) if arg.isdigit() and int(arg) < 0x110000 else ""
            return _NAMED.get(arg, "")
        c = m.group("one")
        return _SIMPLE.get(c, "" if c in "&|^:%c),/{}pdruaE#!" or c.isspace() else c)

    return _ESC.sub(sub, s)


def _args(rest: str) -> list[str]:
    return [q.replace('""', '"') if q is not None and m.group(1) is not None else (w or "")
            for m in _ARGS.finditer(rest) for q, w in [m.groups()]]


def _mdoc_words(args: list[str], name: str) -> str:
    """Text of an mdoc macro line: callable macro names dropped, ``Fl x`` -> ``-x``, ``Xr a 1`` -> ``a(1)``,
    ``Ux`` -> ``UNIX``."""
    out: list[str] = []
    closers: list[str] = []
    flag = nospace = False
    xr = 0
    for a in [name, *args]:
        if a in _MDOC_CALLABLE or a in ("Nd",) and not out:
            flag = a == "Fl"
            nospace = a in ("Ns", "Pf") or nospace
            if a in _MDOC_OPEN:
                o, c = _MDOC_OPEN[a]
                if o:
                    out.append(o)
                    nospace = True
                if c:
                    closers.append(c)
            if a == "Xr":
                xr = 2
            if a in _MDOC_NAMES:
                out.append(_MDOC_NAMES[a])
            if a == "Fl" and name == "Fl" and len(args) == 0:
                out.append("-")
            continue
        w = ("-" + a) if flag else a
        flag = False
        if xr == 1:
            w = f"({a})"
            nospace = True
        xr = max(0, xr - 1)
        if out and (nospace or w in ",.;:)]" ):
            out[-1] += w
        else:
            out.append(w)
        nospace = False
    text = " ".join(out)
    for c in reversed(closers):
        text += c
    if name == "Nd":
        text = "- " + text
    return text


def roff_to_text(src: str, width: int = 80) -> str:
    """Plain text of a man page's roff source (``man`` and common ``mdoc`` macros; see the module doc)."""
    out: list[str] = []
    para: list[str] = []
    strings: dict[str, str] = {}
    nofill = False
    tag_pending = False
    table = 0  # 0 none, 1 reading options/format, 2 data
    skip_until: str | None = None
    brace_depth = 0
    url = ""

    def flush() -> None:
        if para:
            text = " ".join(para)
            para.clear()
            out.extend(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""])

    def blank() -> None:
        flush()
        if out and out[-1] != "":
            out.append("")

    def emit(text: str) -> None:
        nonlocal tag_pending
        if not text:
            return
        if nofill or table:
            flush()
            out.append(text.rstrip())
        else:
            para.append(text)
        if tag_pending:
            flush()
            tag_pending = False

    for raw in src.splitlines():
        if skip_until is not None:
            if raw.strip().startswith(skip_until):
                skip_until = None
            continue
        if brace_depth:
            brace_depth += raw.count("\\{") - raw.count("\\}")
            brace_depth = max(brace_depth, 0)
            continue
        line = raw[: _NO_COMMENT.match(raw).end()] if "\\" in raw else raw  # type: ignore[union-attr]
        if raw[:1] in (".", "'") and raw[1:3] in ('\\"', "\\#"):
            continue
        if line[:1] in (".", "'"):
            body = line[1:].lstrip()
            name, _, rest = body.partition(" ")
            if "\t" in name:
                name, _, more = name.partition("\t")
                rest = more + " " + rest
            if not name:
                continue
            if name in ("de", "de1", "am", "ig"):
                skip_until = ".."
                continue
            if name in ("if", "ie", "el", "while"):
                brace_depth = max(0, line.count("\\{") - line.count("\\}"))
                continue
            if name == "ds" or name == "ds1":
                key, _, val = rest.strip().partition(" ")
                strings[key] = _escapes(val.lstrip('"'), strings)
                continue
            if table and name in ("TE",):
                table = 0
                continue
            if table and name == "T&":
                table = 1
                continue
            args = [_escapes(a, strings) for a in _args(rest)]
            if name in _PARA:
                blank()
            elif name in _BREAK:
                flush()
            if name == "TS":
                table = 1
            elif name in ("nf", "EX", "Bd"):
                nofill = True
            elif name in ("fi", "EE", "Ed"):
                nofill = False
            elif name == "TH" or name == "Dt":
                out.append(f"{args[0]}({args[1]})" if len(args) > 1 else " ".join(args))
                out.append("")
            elif name in ("SH", "SS", "Sh", "Ss"):
                if args:
                    out.append(" ".join(args))
                else:
                    tag_pending = True
            elif name in ("TP", "TQ"):
                tag_pending = True
            elif name in ("IP", "It"):
                if args:
                    emit(_mdoc_words(args, "No") if name == "It" else args[0])
                    flush()
            elif name in ("B", "I", "SM", "SB"):
                emit(" ".join(args))
            elif name in ("BR", "BI", "IB", "IR", "RB", "RI"):
                emit("".join(args))
            elif name in ("UR", "MT"):
                url = args[0] if args else ""
            elif name in ("UE", "ME"):
                emit(f"<{url}>" + "".join(args))
            elif name == "Nm":
                if args and "Nm" not in strings:
                    strings["Nm"] = args[0]
                emit(_mdoc_words(args or [strings.get("Nm", "")], "Nm"))
            elif name in ("Dl", "D1"):
                emit(_mdoc_words(args, "No"))
                flush()
            elif name in _MDOC_CALLABLE or name == "Nd":
                emit(_mdoc_words(args, name))
            continue
        if table == 1:
            if line.rstrip().endswith("."):
                table = 2
            continue
        text = _escapes(line, strings)
        if table == 2:
            if text.strip() in ("_", "=", "T}", ""):
                continue
            text = re.sub(r"T[{}]", "", text).replace("\t", "  ")
        if not text.strip():
            if not nofill:
                blank()
            else:
                out.append("")
            continue
        emit(text if nofill or table else text.strip())
    flush()
    lines: list[str] = []
    for ln in out:  # collapse runs of blank lines
        if ln.strip() or (lines and lines[-1]):
            lines.append(ln.rstrip())
    return "\n".join(lines).strip("\n") + "\n"


def _groff(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    p = subprocess.run(
        ["groff", "-t", "-mandoc", "-Tutf8", "-rLL=80n", "-P-cbou"],
        input=data,
        capture_output=True,
        env={**os.environ, "GROFF_NO_SGR": "1", "MANWIDTH": "80"},
    )
    return p.stdout.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- corpora
def man_pages() -> list[Path]:
    """The ``man`` corpus' page files, sorted (see the module doc)."""
    pages: list[Path] = []
    for sec in range(1, 9):
        d = MAN_ROOT / f"man{sec}"
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_symlink() or not p.is_file():
                continue
            g = gcloud_page(p.name)
            if p.name.startswith("gcloud_"):
                if g is None or g[0].split(" ")[0] not in GCLOUD_GROUPS:
                    continue
            pages.append(p)
    return pages


def _man_docs(render: str, workers: int) -> Iterator[tuple[str, str]]:
    pages = man_pages()

    def one(p: Path) -> str:
        if render == "groff":
            return _groff(p)
        return roff_to_text(_read(p))

    def keep(p: Path) -> bool:
        head = _read(p)[:400].lstrip()
        return not head.startswith(".so ")

    pages = [p for p in pages if keep(p)]
    if render == "groff":
        with ThreadPoolExecutor(workers) as ex:
            texts = list(ex.map(one, pages))
    else:
        texts = [one(p) for p in pages]
    for p, t in zip(pages, texts, strict=True):
        yield str(p), t


def _kdoc_docs() -> Iterator[tuple[str, str]]:
    for p in sorted(KDOC_ROOT.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        name = p.name[:-3] if p.name.endswith(".gz") else p.name
        ext = name.rsplit(".", 1)[1] if "." in name else ""
        if ext not in ("rst", "txt", ""):
            continue
        text = _read(p)
        if "\x00" in text:
            continue
        yield str(p), text


def _copyright_docs() -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for d in sorted(DOC_ROOT.iterdir()):
        p = d / "copyright"
        if not p.is_file():
            continue
        real = os.path.realpath(p)
        if real in seen:
            continue
        seen.add(real)
        yield str(p), _read(p)


_OVERSTRIKE = re.compile(r".\x08")


def _fortune_docs() -> Iterator[tuple[str, str]]:
    for p in sorted(FORTUNE_ROOT.iterdir()):
        if p.is_symlink() or not p.is_file() or p.suffix in (".dat", ".u8"):
            continue
        chunk: list[str] = []
        k = 0
        for line in [*_read(p).splitlines(), "%"]:
            if line.rstrip() == "%":
                text = _OVERSTRIKE.sub("", "\n".join(chunk)).strip("\n")
                if text.strip():
                    yield f"{p}#{k}", text + "\n"
                    k += 1
                chunk = []
            else:
                chunk.append(line)


BUILDERS: dict[str, Callable[..., Iterator[tuple[str, str]]]] = {
    "man": _man_docs,
    "kdoc": _kdoc_docs,
    "copyright": _copyright_docs,
    "fortunes": _fortune_docs,
}


def corpus_path(cache: Path, name: str) -> Path:
    return cache / "corpora" / f"{name}.jsonl"


def build(name: str, cache: Path, rebuild: bool = False, man_render: str = "roff", workers: int = 2) -> Path:
    """Build corpus ``name`` under ``cache`` (unless cached and not ``rebuild``); return its JSONL path."""
    path = corpus_path(cache, name)
    stamp = path.with_suffix(".build.json")
    if path.exists() and stamp.exists() and not rebuild:
        meta = json.loads(stamp.read_text())
        if meta.get("man_render", man_render) == man_render or name != "man":
            return path
    ensure_packages([name], groff=(name == "man" and man_render == "groff"))
    t = time.perf_counter()
    docs = _man_docs(man_render, workers) if name == "man" else BUILDERS[name]()
    n = _write_jsonl(path, docs)
    took = time.perf_counter() - t
    stamp.write_text(json.dumps({"docs": n, "build_s": round(took, 1), "man_render": man_render}))
    print(f"[real-corpora] built {name}: {n:,} documents in {took:.1f} s -> {path}", flush=True)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*", help=f"any of {', '.join(CORPORA)} (default: all)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--man-render", choices=["roff", "groff"], default="roff")
    a = ap.parse_args(argv)
    bad = [c for c in a.corpora if c not in CORPORA]
    if bad:
        ap.error(f"unknown corpora {bad}; choose from {', '.join(CORPORA)}")
    for name in a.corpora or CORPORA:
        p = build(name, a.cache, a.rebuild, a.man_render)
        ids, texts = read_jsonl(p)
        print(f"{name:10s} {len(ids):7,d} docs {sum(map(len, texts)) / 1e6:8.1f} M chars  {p}")


if __name__ == "__main__":
    main()
