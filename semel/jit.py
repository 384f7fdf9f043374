"""Kernels: numba-compiled for real work, run as plain Python for tiny work.

Every loop kernel in semel is declared with `kernel` rather than `numba.njit`. Compiling semel's kernels
takes ~20 s of CPU on a fresh install (numba's cache is empty, and again on every fresh Spark executor or
CI machine); a 12-document job needs under a second of work. So a job whose input is small runs its
kernels as the Python functions they are written as (numpy scalars wrap on overflow exactly as the
compiled code does), and compiles nothing; a larger job compiles once and loads from numba's on-disk
cache after that.

`Kernel` holds the numba dispatcher and the Python function. Compiled kernels call each other through
the dispatcher (numba sees a `Kernel` global as its dispatcher), interpreted kernels through `Kernel`,
which stays interpreted while `interpreted` is active.

The switch is process-wide (kernels run in worker threads): a small job run while a large one runs in
another thread of the same process makes the large one interpreted until the small one ends.

``SEMEL_JIT`` overrides the choice: ``auto`` (default), ``always`` (compile even for tiny work) or
``never`` (interpret everything: slow, for debugging a kernel with pdb or coverage).
"""
from __future__ import annotations

import functools
import importlib
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

import numba as nb
from numba.core import types
from numba.extending import typeof_impl

from semel.errors import SemelError

F = TypeVar("F", bound=Callable[..., Any])

#: Work up to this many bytes of input runs interpreted when ``SEMEL_JIT`` is ``auto`` and the job's
#: kernels are not compiled yet, or are (numba's disk cache holds them). Measured with
#: ``bench/bench_start.py --sizes``: interpreted dedup takes ~0.8 s at 6 KB, ~1.3 s at 32 KB and ~5.5 s at
#: 256 KB; compiled, ~1.0 s from a warm cache at any of these sizes and ~18 s from an empty one.
SMALL_WORK_BYTES = {"cold": 256 * 1024, "warm": 16 * 1024}

_lock = threading.Lock()
_interpreting = 0


class Kernel:
    """A numba kernel that can also run as plain Python (see the module docstring)."""

    def __init__(self, dispatcher: Any, compiled_only: bool = False,
                 interpreted_by: Callable[..., Any] | None = None) -> None:
        self.dispatcher = dispatcher
        self.py_func = dispatcher.py_func
        # what runs while interpreting
        self._small = dispatcher if compiled_only else interpreted_by or self.py_func
        self.__wrapped__ = self.py_func
        self.__name__ = self.py_func.__name__
        self.__qualname__ = self.py_func.__qualname__
        self.__module__ = self.py_func.__module__
        self.__doc__ = self.py_func.__doc__

    def __call__(self, *args: Any) -> Any:
        if _interpreting:
            return self._small(*args)
        return self.dispatcher(*args)

    def __getattr__(self, name: str) -> Any:
        # numba's own passes read the dispatcher's attributes off the global they find: `targetoptions`
        # (without it, inline="always" kernels were no longer inlined: verification ran 12% slower)
        try:
            dispatcher = self.__dict__["dispatcher"]
        except KeyError:  # not initialised (a copy being built): no attribute to forward
            raise AttributeError(name) from None
        return getattr(dispatcher, name)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return _kernel_named, (self.__module__, self.__qualname__)

    def __repr__(self) -> str:
        return f"<semel kernel {self.__module__}.{self.__qualname__}>"


def _kernel_named(module: str, qualname: str) -> Kernel:
    return getattr(importlib.import_module(module), qualname)


@typeof_impl.register(Kernel)
def _typeof_kernel(val: Kernel, c: Any) -> types.Dispatcher:
    return types.Dispatcher(val.dispatcher)


@overload
def kernel(fn: F, *, inline: bool = False, compiled_only: bool = False,
           interpreted_by: Callable[..., Any] | None = None) -> F: ...
@overload
def kernel(fn: None = None, *, inline: bool = False, compiled_only: bool = False,
           interpreted_by: Callable[..., Any] | None = None) -> Callable[[F], F]: ...


def kernel(fn: Any = None, *, inline: bool = False, compiled_only: bool = False,
           interpreted_by: Callable[..., Any] | None = None) -> Any:
    """Declare a loop kernel: compiled with numba (nogil, cached on disk), or interpreted for tiny work.

    `inline`: numba inlines the kernel into its callers (small helpers called in inner loops).
    `compiled_only`: always compiled (it calls what only numba can, e.g. a C function).
    `interpreted_by`: a function giving the same results that runs faster as Python than the kernel's
    own loop (e.g. on NumPy and bytes methods), run instead while interpreting."""
    def wrap(f: Callable[..., Any]) -> Kernel:
        compiled = nb.njit(f, cache=True, nogil=True, inline="always" if inline else "never")
        return Kernel(compiled, compiled_only, interpreted_by)

    return wrap(fn) if fn is not None else wrap


def mode() -> str:
    """``SEMEL_JIT``: ``auto``, ``always`` or ``never``."""
    value = os.environ.get("SEMEL_JIT", "auto").strip().lower() or "auto"
    aliases = {"1": "always", "0": "never", "yes": "always", "no": "never"}
    value = aliases.get(value, value)
    if value not in ("auto", "always", "never"):
        raise SemelError(f"SEMEL_JIT={value!r}: use auto, always or never")
    return value


def cached(k: Kernel) -> bool:
    """Whether numba's disk cache holds compiled code of `k` for its current source. Reads numba's
    cache index through its internals; where they change, the answer is False (work counts as cold)."""
    try:
        return bool(k.dispatcher._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - any failure means "not known to be cached"
        return False


def should_interpret(work_bytes: int | None, probe: Kernel | None = None) -> bool:
    """Whether work of `work_bytes` bytes of input (None: unknown, e.g. stdin) runs interpreted; `probe`,
    the job's costliest kernel to compile, tells whether its kernels are compiled already."""
    chosen = mode()
    if chosen != "auto":
        return chosen == "never"
    if work_bytes is None:
        return False
    return work_bytes <= SMALL_WORK_BYTES["warm" if probe is not None and cached(probe) else "cold"]


@contextmanager
def interpreted(active: bool = True) -> Iterator[None]:
    """Run every kernel called inside the block (from any thread) as plain Python when `active`."""
    global _interpreting
    if not active:
        yield
        return
    with _lock:
        if not _interpreting:
            # numpy scalars warn where the compiled code silently wraps (hashes multiply on purpose)
            warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning,
                                    module=r"semel(\.|$)")
        _interpreting += 1
    try:
        yield
    finally:
        with _lock:
            _interpreting -= 1


def for_work(work_bytes: int | None, probe: Kernel | None = None) -> Any:
    """`interpreted` when the work is small (`should_interpret`), else a block that changes nothing."""
    return interpreted(should_interpret(work_bytes, probe))


def sized_by(work_bytes: Callable[..., int | None], probe: Any) -> Callable[[F], F]:
    """Run the decorated job under `for_work`: `work_bytes` sizes the work from the job's own arguments,
    `probe` is its costliest kernel to compile (see `should_interpret`)."""
    def decorate(job: F) -> F:
        @functools.wraps(job)
        def run(*args: Any, **kwargs: Any) -> Any:
            with for_work(work_bytes(*args, **kwargs), probe):
                return job(*args, **kwargs)
        return run  # type: ignore[return-value]
    return decorate
