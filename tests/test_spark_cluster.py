"""The Spark engine beyond local mode: over Spark Connect, and on a standalone cluster (a master and two
workers), each started by these tests on 127.0.0.1 from the pyspark package, running the contract
suite's core cases. The cluster runs semel in a subprocess: one process holds one SparkContext, and the
test run's own local[2] session is already there.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import semel
from tests.test_engine_contract import CASES, assert_same_outputs, corpus  # noqa: F401 (fixture)

pytestmark = pytest.mark.spark

ROOT = str(Path(__file__).resolve().parents[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"a Spark process exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"nothing listened on 127.0.0.1:{port} after {seconds:.0f}s: {log.read_text()[-2000:]}")


def _spark_env() -> dict[str, str]:
    import pyspark

    env = {k: v for k, v in os.environ.items()  # PySpark marks a process that used Spark Connect
           if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    return dict(env, SPARK_HOME=os.path.dirname(pyspark.__file__), PYSPARK_PYTHON=sys.executable,
                PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
                PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = _spark_env()
    return subprocess.Popen([os.path.join(env["SPARK_HOME"], "bin", args[0]), *args[1:]], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def _cli(*args: str) -> None:
    """semel's command line in a process of its own (one SparkContext, or one Connect client, a process)."""
    proc = subprocess.run([sys.executable, "-m", "semel.cli", *args], env=_spark_env(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


LOOPBACK = ["--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.driver.host=127.0.0.1",
            "--conf", "spark.ui.enabled=false"]


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server (local[2] behind it) on 127.0.0.1, for the module."""
    port = _free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    proc = _start(["spark-submit", "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
                   "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
                   "--conf", "spark.connect.grpc.binding.address=127.0.0.1", *LOOPBACK, "spark-internal"],
                  log)
    try:
        _wait_for(port, proc, log)
        yield f"sc://127.0.0.1:{port}"
    finally:
        _stop([proc])


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and two one-core workers on 127.0.0.1, for the module."""
    logs = tmp_path_factory.mktemp("standalone")
    port = _free_port()
    master = _start(["spark-class", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                     "--port", str(port), "--webui-port", str(_free_port())], logs / "master.log")
    procs = [master]
    try:
        _wait_for(port, master, logs / "master.log")
        url = f"spark://127.0.0.1:{port}"
        for i in range(2):
            procs.append(_start(["spark-class", "org.apache.spark.deploy.worker.Worker", url, "--host",
                                 "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port",
                                 str(_free_port()), "--work-dir", str(logs / f"worker{i}")],
                                logs / f"worker{i}.log"))
        deadline = time.monotonic() + 180
        while (logs / "master.log").read_text().count("Registering worker") < 2:
            if time.monotonic() > deadline:
                pytest.fail("the workers did not register: " + (logs / "master.log").read_text()[-2000:])
            time.sleep(0.5)
        yield url
    finally:
        _stop(procs)


#: Over Connect and on the cluster only the defaults run (exact + near + df weights + keep + write, every
#: stage's code path); the other settings only change kernel arguments, checked by the contract suite.
#: Each Spark run here costs a minute or more (Python workers compiling the kernels on first use).
CORE_CASES = [c for c in CASES if c[0] == "defaults"]


@pytest.mark.parametrize("settings", [c[1] for c in CORE_CASES], ids=[c[0] for c in CORE_CASES])
def test_dedup_over_spark_connect_same_outputs(connect_url, corpus, tmp_path, settings) -> None:  # noqa: F811
    """In a subprocess: PySpark refuses a Connect session in a process that runs a local one."""
    local, out = str(tmp_path / "local"), str(tmp_path / "spark")
    semel.dedup(corpus, local, progress=False, **settings)
    _cli("dedup", corpus, "-o", out, "-q", "--engine", "spark", "--remote", connect_url)
    assert_same_outputs(local, out)


def test_substrings_over_spark_connect_from_the_command_line(connect_url, corpus, tmp_path) -> None:  # noqa: F811
    from semel.cli import main

    flags = ["--min-tokens", "20", "-q"]
    assert main(["substrings", corpus, "-o", str(tmp_path / "local.jsonl"), *flags]) == 0
    _cli("substrings", corpus, "-o", str(tmp_path / "spark.jsonl"), *flags, "--engine", "spark", "--remote",
         connect_url)
    assert (tmp_path / "local.jsonl").read_bytes() == (tmp_path / "spark.jsonl").read_bytes()


def test_dedup_on_a_standalone_cluster_same_outputs(standalone_master, corpus, tmp_path) -> None:  # noqa: F811
    """The core cases through the command line, on two executors in other JVMs and Python workers that
    compile the kernels themselves."""
    for name, settings in CORE_CASES:
        local, out = tmp_path / name / "local", tmp_path / name / "spark"
        semel.dedup(corpus, str(local), progress=False, **settings)
        flags = [f"--{k.replace('_', '-')}" + ("" if v is True else f"={v}") for k, v in settings.items()]
        _cli("dedup", corpus, "-o", str(out), "-q", "--engine", "spark", "--master", standalone_master,
             *flags, "--conf", "spark.executor.memory=1g", "--conf", "spark.driver.memory=1g")
        assert_same_outputs(str(local), str(out))
