"""The `semel` command line: a thin layer that parses flags and calls the job modules.

Each sub-command lives in `semel/commands/<name>.py` and exposes `add_parser(subparsers)`
(which registers its flags and sets `func`) so commands can be added without touching this file's logic.

Every failure the user can cause (bad input or flags, a file that cannot be read or written, a full disk,
Ctrl-C) ends here as one line on stderr, ``semel: error: ...``, with file names escaped so the line stays
one line: exit status 1 (2 for a misused flag, 130 for Ctrl-C), never a traceback. Warnings are one
``semel: warning: ...`` line each, once per run.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings
from typing import Any, NoReturn

from semel import __version__
from semel.errors import SemelError, SemelWarning, escape

EXIT_CODES = """\
output:
  progress bars with rate and ETA go to stderr when it is a terminal (or a Jupyter notebook); the summary
  goes to stderr at the end; warnings and errors are one `semel: warning:` / `semel: error:` line each.
  -q/--quiet drops bars and summary, --json prints the summary as one JSON object on stdout.

exit status:
  0    success (records skipped with --on-error skip are counted and listed, not failures)
  1    error: bad input, an unreadable or unwritable file, a full disk, out of memory; nothing written
  2    misused command line (unknown flag, value out of range)
  130  interrupted (Ctrl-C); nothing written, dedup keeps its finished stages for --resume
"""

#: What `semel --help` lists for each command (each module's own `help=` says the same; a test checks).
SUMMARIES = {
    "repair": "remove paragraphs, lines and sentences written twice in a row inside documents",
    "dedup": "find exact and near-duplicate documents; keep one of each",
    "params": "show LSH bands x rows and the S-curve for a threshold",
    "lines": "remove lines repeated across many documents (boilerplate)",
    "substrings": "remove long passages repeated across documents (suffix array)",
    "explain": "why one document was kept or removed",
    "report": "an HTML report of a finished run: what was removed and why",
    "index": "build a saved index of a dedup run's kept documents",
    "check": "is this text a copy of an indexed document?",
    "serve": "answer 'have I seen this text?' over HTTP from a saved index",
}

COMMANDS = ("repair", "dedup", "params", "lines", "substrings", "explain", "report", "index", "check",
            "serve")


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one `semel: error:` line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.split()[-1] if " " in self.prog else ""
        hint = f" (see semel {command} --help)" if command else " (see semel --help)"
        self.exit(2, f"semel: error: {escape(message)}{hint}\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full flags of the command named in `argv` only: the other commands' modules
    (which load numba, pyarrow and the jobs) are not imported, so `semel --help` starts at once."""
    parser = _Parser(
        prog="semel",
        description="Find and remove duplicated text at every scale: repeated paragraphs inside a document, "
        "exact and near-duplicate documents across a collection, and repeated spans across documents.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"semel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)
    for name in COMMANDS:
        if name != chosen and name in SUMMARIES:  # listed only: its module loads when it is run
            sub.add_parser(name, help=SUMMARIES[name])
            continue
        try:
            module = importlib.import_module(f"semel.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"semel.commands.{name}":
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def os_error_message(exc: OSError) -> str:
    """'No space left on device: out/kept.jsonl' (a temporary name shown as the file it stands for)."""
    from semel.io.outputs import TEMP_NAME

    def name(path: Any) -> str:
        path = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
        directory, base = os.path.split(path)
        m = TEMP_NAME.match(base)
        return escape(os.path.join(directory, m.group("name")) if m else path)

    text = exc.strerror or str(exc) or type(exc).__name__
    names = [name(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{text}: {' -> '.join(names)}" if names else text


def _interrupted(command: str | None) -> str:
    # not imported yet: nothing can have been written, and importing it now could re-enter an import the
    # interrupt broke halfway (numpy's C core cannot be loaded twice: a traceback instead of one line)
    outputs = sys.modules.get("semel.io.outputs")
    if outputs is None:
        return "interrupted; no output was written"
    run = outputs.last
    if run is not None and run.committed:
        return "interrupted after the outputs were written"
    if command == "dedup":
        return ("interrupted; no output was written (the finished stages are kept: rerun with --resume to "
                "continue)")
    return "interrupted; no output was written"


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    if issubclass(category, SemelWarning):
        print(f"semel: warning: {escape(str(message))}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    command_line = (threading_main()
                    and getattr(signal.getsignal(signal.SIGINT), "__name__", "") == "_quiet_interrupt")
    if command_line:
        signal.signal(signal.SIGINT, _interrupt)  # from here on Ctrl-C is handled in _main
    try:
        rc = _main(argv)
    finally:
        if command_line:  # done: a Ctrl-C while the interpreter exits must not make the run a signal death
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    if command_line and _embedded_run:
        _exit_now(rc)
    return rc


_embedded_run = False  # set by _main when the command ran on the embedded engine


def _exit_now(rc: int) -> None:
    """End the `semel` process without tearing the interpreter down: after a large embedded run, freeing
    every object and module one by one took ~0.2 s (of ~7 s on 200k documents) and changes nothing. The
    output streams are flushed and the exit handlers run (the stdin spool file is removed by one), as
    Python would; everything semel writes is closed and in place before this point. Not after a Spark run,
    whose JVM is stopped by the normal exit."""
    import atexit

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    atexit._run_exitfuncs()
    os._exit(rc)


_interrupts: list[int] = []  # Ctrl-Cs received by the `semel` command (see `_interrupt`)


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C as KeyboardInterrupt, remembered: an extension module being imported (numpy's loads
    `datetime`) can turn the KeyboardInterrupt into an ImportError, which is then an interruption too."""
    _interrupts.append(signum)
    raise KeyboardInterrupt


def _main(argv: list[str] | None) -> int:
    command: str | None = None
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)  # a misused flag: one line, SystemExit(2)
        command = args.command
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        from semel.commands.common import check_output_flags

        check_output_flags(args)
        global _embedded_run
        _embedded_run = getattr(args, "engine", "local") == "local"
        if _embedded_run and (
                command in ("dedup", "lines", "substrings") or (command == "repair" and args.output)):
            from semel.startup import arrow_without_pandas, numpy_small_pages, reuse_freed_memory

            arrow_without_pandas()
            numpy_small_pages()
            reuse_freed_memory()
        with warnings.catch_warnings():
            warnings.simplefilter("always", SemelWarning)
            warnings.showwarning = _show_warning
            return _run_staged(args)
    except SemelError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        _error(_interrupted(command))
        return 130
    except ImportError:
        if not _interrupts:
            raise
        _error(_interrupted(command))
        return 130
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except OSError as exc:
        _error(os_error_message(exc))
        return 1
    except MemoryError:
        _error("out of memory")
        return 1
    except RecursionError:
        _error("input nested too deeply to process")
        return 1


def _run_staged(args: argparse.Namespace) -> int:
    """Run the command; inputs and outputs given as URLs (s3://...) are staged locally (semel.io.remote)."""
    inputs, output = list(getattr(args, "inputs", None) or []), getattr(args, "output", None)
    if getattr(args, "engine", "local") != "local" or not any(  # Spark reads URLs through Hadoop
            "://" in p for p in [*inputs, output or ""]):
        return int(args.func(args) or 0)
    from semel.io import remote  # semel.io loads pyarrow: only for URLs

    with remote.staged(inputs, output, folder=args.command == "dedup") as staging:
        args.inputs, args.output = staging.inputs, staging.output
        return int(args.func(args) or 0)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _error(message: str) -> None:
    print(f"semel: error: {escape(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
