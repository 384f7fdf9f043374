"""What the command line prints for people and for scripts: --json, --quiet, progress bars, exit codes."""
from __future__ import annotations

import io
import json
import os
import sys

import pytest

from semel.cli import main
from semel.progress import progress

NEWS = "examples/news.jsonl"


def test_json_summary_on_stdout_and_quiet_prints_nothing(tmp_path, capsys) -> None:
    assert main(["dedup", NEWS, "-o", str(tmp_path / "out"), "--json", "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)  # one JSON object, nothing else on stdout
    assert data["job"] == "dedup" and data["documents"] == 12 and data["kept"] < 12
    assert [st["name"] for st in data["stages"]] == ["sketch", "cluster", "keep", "write"]
    assert "semel dedup:" not in err
    assert main(["repair", NEWS, "-o", str(tmp_path / "r.jsonl"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["lines", NEWS, "-o", str(tmp_path / "l.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 12


def test_json_refused_where_documents_go_to_stdout(capsys) -> None:
    assert main(["repair", "examples/seed.txt", "--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("semel: error: --json") and err.count("\n") == 1


def test_help_documents_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {code}" in out


def test_progress_bar_shows_rate_and_eta(monkeypatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress(total=4, desc="sketch", unit="doc", enabled=True, mininterval=0) as bar:
        for _ in range(4):
            bar.update(1)
    text = stream.getvalue()
    assert "sketch" in text and "doc/s" in text and "<" in text  # elapsed<remaining
    stream.truncate(0)
    with progress(total=4, desc="quiet") as bar:  # not a terminal: silent
        bar.update(4)
    assert stream.getvalue() == ""


def test_listed_summaries_match_each_command_and_help_loads_no_job() -> None:
    """`semel --help` lists commands from cli.SUMMARIES without importing them; each module's own help
    line must say the same, and listing must not load numba or pyarrow (it starts in a blink)."""
    import subprocess

    from semel.cli import SUMMARIES, build_parser

    for name, summary in SUMMARIES.items():
        sub = next(a for a in build_parser([name])._actions if a.dest == "command")
        helps = {c.dest: c.help for c in sub._choices_actions}
        assert helps[name] == summary, name
    code = ("import sys; from semel.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr([m for m in ('numba', 'pyarrow', 'numpy') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == "[]" and "dedup" in out.stdout
    code = code.replace("['--help']", "['repair', 'examples/seed.txt']")  # one text: the pure-Python kernel
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == "[]" and out.stdout.startswith("Sullo sfondo")


def test_progress_shows_in_a_notebook_without_a_terminal(monkeypatch) -> None:
    """In Jupyter stderr is no terminal, yet the bar shows (tqdm's widget, or text without ipywidgets)."""
    import types

    class ZMQInteractiveShell:  # what get_ipython() returns inside a Jupyter kernel
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = progress(total=3, desc="notebook")
    assert not bar.disable
    bar.close()


def test_dedup_bars_count_to_a_known_total(tmp_path, monkeypatch) -> None:
    """The sketch bar counts JSONL bytes (Parquet rows) to the input's total, so it can give an ETA."""
    import gzip
    import shutil

    import pyarrow.parquet as pq

    import semel
    import semel.engines.local as local
    from semel.progress import input_total

    bars = {}

    def spy(*args, **kwargs):
        bar = progress(*args, **kwargs)
        bars[kwargs["desc"]] = bar
        return bar

    monkeypatch.setattr(local, "progress", spy)  # the write bar
    monkeypatch.setattr(semel.progress, "progress", spy)  # the bars over reading the input
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    semel.dedup(NEWS, str(tmp_path / "out"), progress=True)
    assert bars["sketch"].unit == "B" and bars["sketch"].n == bars["sketch"].total == os.path.getsize(NEWS)
    assert bars["write"].n == bars["write"].total > 0
    for job, settings in ((semel.lines, {}), (semel.substrings, {})):
        job(NEWS, str(tmp_path / f"{job.__name__}.jsonl"), progress=True, **settings)
    for desc in ("lines: count", "lines: remove", "substrings"):
        assert bars[desc].n == bars[desc].total == os.path.getsize(NEWS), desc
    pq.write_table(semel.dedup(NEWS, str(tmp_path / "o2"), progress=False).clusters, tmp_path / "c.parquet")
    assert input_total([str(tmp_path / "c.parquet")]) == (12, "doc")
    with open(NEWS, "rb") as f, gzip.open(tmp_path / "n.jsonl.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    assert input_total([str(tmp_path / "n.jsonl.gz")]) == (None, "doc")  # a rate, no ETA


def test_the_semel_command_ends_without_teardown_yet_flushes_and_cleans_up(tmp_path) -> None:
    """The `semel` executable ends an embedded run with os._exit (semel.cli._exit_now): its stdout must
    still arrive whole, its exit status be the command's, and the exit handlers still run (the spooled
    copy of stdin is removed by one)."""
    import subprocess

    script = os.path.join(os.path.dirname(sys.executable), "semel")
    docs = "".join(json.dumps({"id": str(i), "text": " ".join(f"w{i % 3}x{k}" for k in range(60))}) + "\n"
                   for i in range(30))  # three stories, ten copies each
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    os.makedirs(env["TMPDIR"])
    run = subprocess.run([script, "dedup", "-", "-o", str(tmp_path / "out"), "--json", "-q"], input=docs,
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["documents"] == 30 and summary["kept"] == 3
    assert os.listdir(env["TMPDIR"]) == []  # the stdin spool is gone
    failed = subprocess.run([script, "dedup", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o2")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 1 and failed.stderr.startswith("semel: error:")
