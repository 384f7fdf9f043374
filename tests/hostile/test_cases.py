"""The numbered cases of issue 10 ("Nothing lost under hostile input"), one regression test each.

Each failed before its fix: data lost or wrong output with exit 0, a traceback, or an unclear message.
"""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

import semel
from semel.errors import SemelError
from tests.hostile.helpers import (
    ROOT,
    Stdin,
    cli,
    clusters,
    jsonl,
    listing,
    one_error,
    records,
    run_semel,
    write_lines,
)


@pytest.fixture
def good(tmp_path) -> str:
    """20 distinct documents."""
    return write_lines(str(tmp_path / "good.jsonl"), jsonl(records(20)))


# ------------------------------------------------------------------------- data loss or wrong output

def test_01_work_dir_with_foreign_files_is_refused_not_wiped(tmp_path, good, capsys) -> None:
    work = tmp_path / "w"
    work.mkdir()
    inside = work / "good.jsonl"
    inside.write_bytes(open(good, "rb").read())
    rc, _, err = cli(capsys, "dedup", inside, "-o", tmp_path / "out", "--work-dir", work, "-q")
    assert rc == 1 and "work folder" in one_error(err)
    assert inside.exists()
    notes = tmp_path / "w2"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out", "--work-dir", notes, "-q")
    assert rc == 1 and "did not create" in one_error(err)
    assert (notes / "notes.txt").read_text() == "mine"
    # a work folder semel made is reused, and removed again afterwards
    fresh = tmp_path / "w3"
    for keep in ("--keep-work", "--no-progress"):
        assert cli(capsys, "dedup", good, "-o", tmp_path / "out", "--work-dir", fresh, keep, "-q")[0] == 0
    assert not fresh.exists()


def test_02_dedup_from_stdin_reads_it_once(tmp_path, good, capsys, monkeypatch) -> None:
    data = open(good, "rb").read()
    monkeypatch.setattr(sys, "stdin", Stdin(data))
    rc, _, err = cli(capsys, "dedup", "-", "-o", tmp_path / "out", "-q")
    assert rc == 0, err
    assert len(clusters(str(tmp_path / "out"))) == 20
    assert (tmp_path / "out" / "kept.jsonl").read_bytes() == data


def test_03_stdin_is_jsonl_unless_format_says_otherwise(tmp_path, good, capsys, monkeypatch) -> None:
    data = open(good, "rb").read()
    monkeypatch.setattr(sys, "stdin", Stdin(b"\xef\xbb\xbf" + data))  # a byte order mark is not a record
    assert cli(capsys, "dedup", "-", "-o", tmp_path / "bom", "-q")[0] == 0
    assert len(clusters(str(tmp_path / "bom"))) == 20
    monkeypatch.setattr(sys, "stdin", Stdin(b"not json\n" + data))
    rc, _, err = cli(capsys, "dedup", "-", "-o", tmp_path / "bad", "-q")
    assert rc == 1 and one_error(err).startswith("semel: error: -:1: malformed JSON")
    assert not (tmp_path / "bad" / "clusters.parquet").exists()
    monkeypatch.setattr(sys, "stdin", Stdin(b"not json\n" + data))
    assert cli(capsys, "dedup", "-", "--format", "txt", "-o", tmp_path / "txt", "-q")[0] == 0
    assert [r["id"] for r in clusters(str(tmp_path / "txt"))] == ["-"]
    # Parquet on stdin, by its magic bytes or by --format
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one two three", "four five six"]}),
                   str(tmp_path / "in.parquet"))
    monkeypatch.setattr(sys, "stdin", Stdin((tmp_path / "in.parquet").read_bytes()))
    assert cli(capsys, "repair", "-", "-o", tmp_path / "r.jsonl")[0] == 0
    assert [json.loads(x)["id"] for x in (tmp_path / "r.jsonl").read_text().splitlines()] == ["a", "b"]


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_04_20_truncated_zstd_is_an_error_naming_the_file(tmp_path, capsys, on_error) -> None:
    full = b"".join(jsonl(records(300)))
    blob = zstandard.ZstdCompressor().compress(full)
    path = tmp_path / "t.jsonl.zst"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    rc, _, err = cli(capsys, "dedup", path, "-o", tmp_path / "out", "--on-error", on_error, "-q")
    line = one_error(err)
    assert rc == 1 and "t.jsonl.zst: truncated zstd stream" in line and "malformed" not in line
    assert not (tmp_path / "out" / "clusters.parquet").exists()
    gz = tmp_path / "t.jsonl.gz"
    gz.write_bytes(gzip.compress(full)[:-5])
    rc, _, err = cli(capsys, "repair", gz, "-o", tmp_path / "r.jsonl", "--on-error", on_error)
    assert rc == 1 and "t.jsonl.gz: truncated gzip stream" in one_error(err)
    assert not (tmp_path / "r.jsonl").exists()


def test_05_resume_checks_batch_size_and_input_identity(tmp_path, good, capsys) -> None:
    out = str(tmp_path / "out")
    semel.dedup(good, out, keep_work=True, batch_size=7)
    rc, _, err = cli(capsys, "dedup", good, "-o", out, "--resume", "--batch-size", "5", "-q")
    assert rc == 1 and "--batch-size changed" in one_error(err) and "drop --resume" in err
    with open(good, "ab") as f:  # the input rewritten: another document at the end
        f.write(b'{"id": "new", "text": "a new document"}\n')
    rc, _, err = cli(capsys, "dedup", good, "-o", out, "--resume", "--batch-size", "7", "-q")
    assert rc == 1 and "good.jsonl changed" in one_error(err)
    assert cli(capsys, "dedup", good, "-o", out, "--batch-size", "7", "-q")[0] == 0
    assert len(clusters(out)) == 21


def test_06_skipped_records_survive_a_resume(tmp_path, capsys) -> None:
    lines = jsonl(records(10))
    lines[3] = b'{"id": "bad", "text": \n'
    lines[7] = b"[1, 2]\n"
    path = write_lines(str(tmp_path / "in.jsonl"), lines)
    out = str(tmp_path / "out")
    proc = run_semel("dedup", path, "-o", out, "--on-error", "skip", "-q", env={"SEMEL_KILL_AT": "sketch"})
    assert proc.returncode == -signal.SIGKILL
    rc, _, err = cli(capsys, "dedup", path, "-o", out, "--on-error", "skip", "--resume", "-q")
    assert rc == 0, err
    logged = [json.loads(x) for x in open(os.path.join(out, "errors.jsonl"))]
    assert [e["line"] for e in logged] == [4, 8]
    stats = json.load(open(os.path.join(out, "stats.json")))["stats"]
    assert stats["skipped_records"] == 2 and stats["documents"] == 8


def test_07_an_input_given_twice_is_refused(tmp_path, good, capsys) -> None:
    rc, _, err = cli(capsys, "dedup", good, good, "--no-exact", "--no-near", "-o", tmp_path / "out", "-q")
    assert rc == 1 and "given twice" in one_error(err)
    os.symlink(good, tmp_path / "alias.jsonl")
    rc, _, err = cli(capsys, "repair", good, tmp_path / "alias.jsonl", "-o", tmp_path / "r.jsonl")
    assert rc == 1 and "given twice" in one_error(err)
    assert listing(str(tmp_path / "out")) == {} and not (tmp_path / "r.jsonl").exists()


def test_08_repair_folders_with_the_same_file_name_refused(tmp_path, capsys) -> None:
    for d, text in (("d1", "alpha"), ("d2", "beta")):
        (tmp_path / d).mkdir()
        (tmp_path / d / "a.txt").write_text(text)
    rc, _, err = cli(capsys, "repair", tmp_path / "d1", tmp_path / "d2", "-o", tmp_path / "out")
    line = one_error(err)
    assert rc == 1 and "a.txt" in line and "unique ids" in line
    assert not (tmp_path / "out").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary files left


def test_09_big_integer_ids_and_fields_kept_as_written(tmp_path, capsys) -> None:
    repeated = "This sentence is repeated by a careless scraper. " * 2
    lines = [b'{"id": 12345678901234567890123, "text": "alpha beta gamma delta"}\n',
             b'{"id": 12345678901234567890124, "text": "epsilon zeta eta theta"}\n',
             b'{"id": 1.50, "text": "iota kappa lambda mu", "n": 98765432109876543210987}\n',
             b'{"id": "x", "text": "' + repeated.encode() + b'", "n": 98765432109876543210987}\n']
    path = write_lines(str(tmp_path / "big.jsonl"), lines)
    assert cli(capsys, "dedup", path, "-o", tmp_path / "out", "-q")[0] == 0
    assert [r["id"] for r in clusters(str(tmp_path / "out"))] == [
        "12345678901234567890123", "12345678901234567890124", "1.50", "x"]
    assert cli(capsys, "repair", path, "-o", tmp_path / "r.jsonl")[0] == 0
    out = (tmp_path / "r.jsonl").read_bytes().splitlines()
    assert b'"n":98765432109876543210987' in out[3]  # the rewritten record: the number as it was


def test_10_a_reused_output_folder_holds_one_runs_files(tmp_path, good, capsys) -> None:
    out = tmp_path / "out"
    bad = write_lines(str(tmp_path / "bad.jsonl"), [*jsonl(records(3)), b"{oops\n"])
    assert cli(capsys, "dedup", bad, "-o", out, "--on-error", "skip", "-q")[0] == 0
    assert (out / "errors.jsonl").exists() and (out / "kept.jsonl").exists()
    gz = write_lines(str(tmp_path / "good.jsonl.gz"), [open(good, "rb").read()], codec="gzip")
    out.joinpath("mine.txt").write_text("not semel's")  # someone else's file in the folder
    assert cli(capsys, "dedup", gz, "-o", out, "-q")[0] == 0
    assert sorted(n for n in os.listdir(out) if not n.startswith(".")) == [
        "clusters.parquet", "kept.jsonl.gz", "mine.txt", "rejected.parquet", "stats.json"]
    assert cli(capsys, "report", out)[0] == 0  # written later, but one of this run's files
    before = listing(str(out))
    broken = write_lines(str(tmp_path / "broken.jsonl"), [b"{oops\n"])
    rc, _, err = cli(capsys, "dedup", broken, "-o", out, "-q")
    assert rc == 1 and one_error(err)
    assert listing(str(out)) == before  # a failed run changes nothing
    assert cli(capsys, "dedup", good, "-o", out, "-q")[0] == 0
    assert not (out / "report.html").exists()  # the report of the previous run went with it


def test_11_18_bands_rows_batch_size_must_be_positive(tmp_path, good, capsys) -> None:
    for flags in (["--bands", "0", "--rows", "4"], ["--bands", "-1", "--rows", "-4"], ["--batch-size", "0"],
                  ["--batch-size", "x"]):
        rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out", "-q", *flags)
        assert rc == 2 and flags[0] in one_error(err)
    with pytest.raises(SemelError, match="--bands must be an integer >= 1"):
        semel.dedup(good, str(tmp_path / "out"), bands=0, rows=4)
    with pytest.raises(SemelError, match="--batch-size"):
        semel.dedup(good, str(tmp_path / "out"), batch_size=0)
    rc, _, err = cli(capsys, "repair", good, "-o", tmp_path / "r.jsonl", "--batch-size", "0")
    assert rc == 2 and one_error(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["One line without a newline at the end.", "Line one.\nLine two.\n",
                                  "Trailing blank lines.\n\n\n", "\n\nLeading newlines.", "", "\r\nCRLF\r\n"])
def test_12_repair_to_a_txt_file_is_byte_for_byte(tmp_path, capsys, text) -> None:
    src = tmp_path / "x.txt"
    src.write_bytes(text.encode())
    assert cli(capsys, "repair", src, "-o", tmp_path / "y.txt")[0] == 0
    assert (tmp_path / "y.txt").read_bytes() == text.encode()
    rc, out, _ = cli(capsys, "repair", src)
    assert rc == 0 and out == text


def test_13_temporary_file_of_a_killed_write_is_removed_on_resume(tmp_path, good, capsys) -> None:
    out = tmp_path / "out"
    proc = run_semel("dedup", good, "-o", out, "-q", env={"SEMEL_KILL_AT": "write:batch"})
    assert proc.returncode == -signal.SIGKILL
    assert [n for n in os.listdir(out) if ".tmp-" in n]  # the killed write's temporary file
    assert cli(capsys, "dedup", good, "-o", out, "--resume", "-q")[0] == 0
    assert not [n for n in os.listdir(out) if ".tmp-" in n]
    assert (out / "kept.jsonl").read_bytes() == open(good, "rb").read()


def test_14_zstd_input_to_dedup(tmp_path, good, capsys) -> None:
    data = open(good, "rb").read()
    path = write_lines(str(tmp_path / "in.jsonl.zst"), [data], codec="zstd")
    assert cli(capsys, "dedup", path, "-o", tmp_path / "out", "-q")[0] == 0
    kept = zstandard.ZstdDecompressor().decompressobj().decompress((tmp_path / "out" / "kept.jsonl.zst")
                                                                   .read_bytes())
    assert kept == data


def test_15_folder_of_txt_to_dedup_writes_kept_folder(tmp_path, capsys) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("the quick brown fox jumps over the lazy dog\n")
    (docs / "sub" / "b.txt").write_text("The quick brown fox jumps over the lazy dog!\n")
    (docs / "c.txt").write_text("something else entirely, with other words\n")
    assert cli(capsys, "dedup", docs, "-o", tmp_path / "out", "-q")[0] == 0
    kept = tmp_path / "out" / "kept"
    assert sorted(os.listdir(kept)) == ["a.txt", "c.txt"]
    assert (kept / "a.txt").read_text() == (docs / "a.txt").read_text()


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_16_zero_documents_is_a_valid_run(tmp_path, capsys, content) -> None:
    path = write_lines(str(tmp_path / "empty.jsonl"), [content])
    rc, _, err = cli(capsys, "dedup", path, "-o", tmp_path / "out", "-q")
    assert rc == 0, err
    assert clusters(str(tmp_path / "out")) == []
    assert (tmp_path / "out" / "kept.jsonl").read_bytes() == b""
    for command in ("repair", "lines", "substrings"):
        assert cli(capsys, command, path, "-o", tmp_path / f"{command}.jsonl")[0] == 0
        assert (tmp_path / f"{command}.jsonl").read_bytes() == b""


def test_17_os_errors_are_one_line(tmp_path, good, capsys, monkeypatch) -> None:
    rc, _, err = cli(capsys, "dedup", good, "-o", good, "-q")  # the output is the input file
    assert rc == 1 and "is a file" in one_error(err)
    assert open(good, "rb").read().count(b"\n") == 20
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "good.jsonl" / "out", "-q")
    assert rc == 1 and one_error(err)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("text")
    os.symlink(tmp_path / "nowhere.txt", docs / "broken.txt")
    rc, _, err = cli(capsys, "dedup", docs, "-o", tmp_path / "out", "-q")
    assert rc == 1 and "broken.txt" in one_error(err)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "out" / ".kept.jsonl.tmp-1-abcdef12"))

    monkeypatch.setattr("semel.io.writer.Writer.write", full_disk)
    monkeypatch.setattr("semel.io.writer.Writer.write_lines", full_disk)  # lines copied as bytes
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out", "-q")
    line = one_error(err)
    assert rc == 1 and "No space left on device" in line and line.endswith("out/kept.jsonl")
    assert [f for f in listing(str(tmp_path / "out")) if not f.startswith("_work/")] == []  # work kept
    monkeypatch.undo()  # space again: the run resumes from its finished stages
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out", "-q", "--resume")
    assert rc == 0 and (tmp_path / "out" / "kept.jsonl").read_bytes() == open(good, "rb").read()


def test_17_read_only_output_folder(tmp_path, good, capsys, monkeypatch) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway (CI runs as root): the folder refuses as for anyone else
        real_mkdir = os.mkdir

        def refuse(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if os.fspath(path).startswith(str(ro)):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refuse)
    rc, _, err = cli(capsys, "dedup", good, "-o", ro / "out", "-q")
    assert rc == 1 and "Permission denied" in one_error(err)


def test_18_odd_names_and_id_types(tmp_path, good, capsys) -> None:
    odd = os.path.join(str(tmp_path), os.fsdecode(b"caf\xe9.jsonl"))
    with open(odd, "wb") as f:
        f.write(b'{"text": "no id here"}\n')
    assert cli(capsys, "dedup", odd, "-o", tmp_path / "out", "-q")[0] == 0
    assert [r["id"] for r in clusters(str(tmp_path / "out"))] == ["caf%E9.jsonl:1"]
    pq.write_table(pa.table({"id": pa.array([[1], [2]], pa.list_(pa.int64())), "text": ["a b", "c d"]}),
                   str(tmp_path / "l.parquet"))
    rc, _, err = cli(capsys, "dedup", tmp_path / "l.parquet", "-o", tmp_path / "o2", "-q")
    assert rc == 1 and "id column 'id' has type list" in one_error(err)


def _wait_until_semel_runs(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until the child has mapped numpy, which semel imports only once its interrupt handling is in place.
    A fixed delay raced Python's own start-up on a loaded CI machine: a Ctrl-C before any of semel's code
    runs ends any Python program by the signal (-2), whatever semel does."""
    maps = f"/proc/{proc.pid}/maps"
    if not os.path.exists(maps):  # not Linux: a delay is the best there is
        time.sleep(0.5)
        return
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with open(maps) as f:
                if "_multiarray_umath" in f.read():
                    return
        except OSError:
            return
        time.sleep(0.005)


def test_19_ctrl_c_is_one_line(tmp_path, good, capsys, monkeypatch) -> None:
    script = os.path.join(os.path.dirname(sys.executable), "semel")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), ROOT) if p))
    for delay in (0.0, 0.7):  # while loading the kernels, and while running
        proc = subprocess.Popen([script, "dedup", good, "-o", str(tmp_path / "o"), "-q"], env=env,
                                stderr=subprocess.PIPE)
        _wait_until_semel_runs(proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].decode()
        if proc.returncode == 0:  # finished before the signal came
            continue
        assert proc.returncode == 130 and "interrupted" in one_error(err)

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("semel.engines.local._stage_write", interrupt)  # after clusters.parquet is made
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out", "-q")
    assert rc == 130 and "no output was written" in one_error(err) and "--resume" in err
    assert not (tmp_path / "out" / "clusters.parquet").exists()
    monkeypatch.undo()
    monkeypatch.setattr("semel.result.DedupResult.summary", interrupt)  # after the outputs are in place
    rc, _, err = cli(capsys, "dedup", good, "-o", tmp_path / "out")
    assert rc == 130 and "after the outputs were written" in one_error(err)


def test_19_ctrl_c_inside_an_extension_import_is_an_interruption(capsys, monkeypatch) -> None:
    """numpy turns a KeyboardInterrupt raised while it imports `datetime` into an ImportError (seen: one
    run in four of the test above printed numpy's ImportError advice and a traceback, exit status 1)."""
    import semel.cli

    def interrupted_import(*args: object) -> None:
        try:
            semel.cli._interrupt(2, None)
        except KeyboardInterrupt:
            raise ImportError("PyCapsule_Import could not import module datetime") from None

    monkeypatch.setattr(semel.cli, "_interrupts", [])
    monkeypatch.setattr(semel.cli, "build_parser", interrupted_import)
    rc, _, err = cli(capsys, "dedup", "x.jsonl", "-o", "out")
    assert rc == 130 and "interrupted" in one_error(err)
    monkeypatch.setattr(semel.cli, "_interrupts", [])  # without a Ctrl-C, an ImportError is a real error
    monkeypatch.setattr(semel.cli, "build_parser", lambda *a: (_ for _ in ()).throw(ImportError("broken")))
    with pytest.raises(ImportError):
        cli(capsys, "dedup", "x.jsonl", "-o", "out")


def test_21_file_names_are_escaped_in_messages(tmp_path, capsys) -> None:
    path = write_lines(str(tmp_path / "a\nb.jsonl"), [b'{"text": "x"}\n', b"{oops\n"])
    rc, _, err = cli(capsys, "dedup", path, "-o", tmp_path / "out", "-q")
    assert rc == 1 and "a\\nb.jsonl:2: malformed JSON" in one_error(err)


def test_22_deeply_nested_records_are_bad_records(tmp_path, capsys) -> None:
    repeated = "Repeat this sentence twice for sure please. " * 2
    deep = b'{"id": "a", "text": "' + repeated.encode() + b'", "n": ' + b"[" * 2000 + b"]" * 2000 + b"}\n"
    path = write_lines(str(tmp_path / "deep.jsonl"), [deep, b'{"id": "b", "text": "fine"}\n'])
    rc, _, err = cli(capsys, "repair", path, "-o", tmp_path / "r.jsonl")
    assert rc == 1 and "deep.jsonl:1:" in one_error(err)
    assert cli(capsys, "repair", path, "-o", tmp_path / "r.jsonl", "--on-error", "skip")[0] == 0
    assert [json.loads(x)["id"] for x in open(tmp_path / "r.jsonl")] == ["b"]
    assert json.loads(open(tmp_path / "r.jsonl.errors.jsonl").read())["line"] == 1


def test_23_skipped_records_of_a_stdout_run_are_listed(tmp_path, capsys) -> None:
    path = write_lines(str(tmp_path / "c.jsonl"), [b'{"id": "a", "text": "hello there"}\n', b"{bad\n"])
    for command in ("repair", "substrings", "lines"):
        rc, out, err = cli(capsys, command, path, "--on-error", "skip")
        assert rc == 0 and out.count("\n") == 1
        assert "semel: skipped " + path + ":2: malformed JSON" in err


def test_24_ids_and_keep_field_warn_once_with_a_count(tmp_path, capsys) -> None:
    path = write_lines(str(tmp_path / "ids.jsonl"), [
        b'{"id": 1, "text": "one two three four"}\n', b'{"id": "1", "text": "five six seven eight"}\n',
        b'{"text": "nine ten eleven twelve"}\n', b'{"text": "thirteen fourteen fifteen sixteen"}\n',
        b'{"id": "q", "text": "x y z", "score": 2}\n'])
    rc, _, err = cli(capsys, "dedup", path, "-o", tmp_path / "out", "--keep", "field:score", "-q")
    assert rc == 0
    warnings = [ln for ln in err.splitlines() if ln.startswith("semel: warning: ")]
    assert len(warnings) == 3, err
    assert any("1 document with an id already used" in w for w in warnings)
    assert any("2 records without an id field 'id'" in w for w in warnings)
    assert any("4 documents without a numeric field 'score'" in w for w in warnings)
    stats = json.load(open(tmp_path / "out" / "stats.json"))
    assert len(stats["warnings"]) == 3
    rc, _, err = cli(capsys, "repair", path, "-o", tmp_path / "r.jsonl")
    assert err.count("semel: warning:") == 1 and "2 records without an id field" in err
