#!/usr/bin/env bash
# Create the peer environments for semel's side-by-side benchmarks (not committed anywhere; re-runnable).
#
#   bash bench/setup_peers.sh                 # -> /work/peers/venv (override: SEMEL_PEERS_VENV=/path)
#
# Peer venv (Python 3.11, separate from semel's .venv): rensa, datasketch, datatrove (+ spacy, orjson, nltk,
# xxhash, tokenizers that its MinHash dedup and GopherRepetitionFilter import), pyarrow, psutil, text-dedup 0.4.1 deps +
# its wheel (--no-deps --ignore-requires-python). xxhash is held < 4: 4.x refuses str input, and datatrove
# 0.10.1 hashes str shingles with it ("TypeError: Strings must be encoded before hashing"). dolma, if it installs, goes to its own venv
# ${SEMEL_PEERS_VENV_DOLMA:-/work/peers/venv-dolma}.
#
# text-dedup 0.4.1 uses PEP 695 `type X = ...` statements (config/io/input_configs.py, output_configs.py,
# config/algorithms/__init__.py), a SyntaxError on Python 3.11, so it cannot be imported in the 3.11 venv.
# When a Python 3.12 interpreter exists (PYTHON312, or pyenv's 3.12.x), a second venv
# ${SEMEL_PEERS_VENV312:-/work/peers/venv312} gets text-dedup 0.4.1 natively; bench_near.py uses it for textdedup.
set -euo pipefail

VENV="${SEMEL_PEERS_VENV:-/work/peers/venv}"
VENV312="${SEMEL_PEERS_VENV312:-$(dirname "$VENV")/venv312}"
PY311="${PYTHON311:-python3.11}"

TD_DEPS=(bitarray datasets ftfy numpy polars-grouper polars psutil pydantic-settings pydantic rbloom regex rich
         scipy tqdm xxhash)

echo "== peer venv: $VENV"
[ -x "$VENV/bin/python" ] || "$PY311" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q)
"${PIP[@]}" -U pip wheel
"${PIP[@]}" rensa datasketch datatrove spacy orjson nltk "xxhash<4" tokenizers pyarrow psutil
"${PIP[@]}" "${TD_DEPS[@]/xxhash/xxhash<4}"
"${PIP[@]}" --no-deps --ignore-requires-python text-dedup==0.4.1
if "$VENV/bin/python" -c "import text_dedup.minhash" 2>/dev/null; then
  echo "text-dedup imports under $("$VENV/bin/python" -V)"
else
  echo "NOTE: text-dedup 0.4.1 does not import under $("$VENV/bin/python" -V) (PEP 695 'type' statements)"
fi

# dolma (paragraph-dedup comparison later): optional, bounded in time, in its OWN venv -- installing it into
# the peer venv downgrades numpy to 1.26 and huggingface-hub to 0.36 (breaks pyarrow>=22, pandas 3, datasets 5).
VENVD="${SEMEL_PEERS_VENV_DOLMA:-$(dirname "$VENV")/venv-dolma}"
[ -x "$VENVD/bin/python" ] || "$PY311" -m venv "$VENVD"
if timeout 300 "$VENVD/bin/python" -m pip install -q dolma pyarrow psutil; then
  echo "dolma installed in $VENVD"
else
  echo "NOTE: dolma did not install"
fi

# Python 3.12 venv for text-dedup, if an interpreter is available
PY312="${PYTHON312:-}"
if [ -z "$PY312" ] && command -v pyenv >/dev/null; then
  v=$(pyenv versions --bare | grep -E '^3\.12' | tail -1 || true)
  [ -n "$v" ] && PY312="$(pyenv root)/versions/$v/bin/python3.12"
fi
if [ -n "$PY312" ] && [ -x "$PY312" ]; then
  echo "== text-dedup venv: $VENV312 ($PY312)"
  [ -x "$VENV312/bin/python" ] || "$PY312" -m venv "$VENV312"
  P12=("$VENV312/bin/python" -m pip install -q)
  "${P12[@]}" -U pip wheel
  "${P12[@]}" text-dedup==0.4.1 pyarrow psutil
  "$VENV312/bin/python" -c "import text_dedup.minhash; print('text-dedup OK under Python 3.12')"
else
  echo "NOTE: no Python 3.12 found; text-dedup cannot run"
fi

"$VENV/bin/python" - <<'PY'
import importlib
for m in ("rensa", "datasketch", "datatrove", "spacy", "orjson", "pyarrow", "psutil", "numpy"):
    try:
        mod = importlib.import_module(m)
        print(f"{m:12s} {getattr(mod, '__version__', 'ok')}")
    except Exception as e:  # noqa: BLE001
        print(f"{m:12s} MISSING ({type(e).__name__}: {e})")
PY
