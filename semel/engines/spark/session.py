"""Building the SparkSession semel runs on: the Java check, safe local defaults, and `--conf` overrides.

Every Spark job of semel (dedup, repair, lines) gets its session from `get_spark`, so the defaults below are
decided once: Arrow on (the kernels take Arrow batches), the driver's own Python on the workers in local
mode, and in local mode nothing listening on other interfaces (no UI, driver bound to 127.0.0.1).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from typing import Any

from semel.errors import SemelError

MIN_JAVA = 17

#: Settings for a user who sets none; every one can be overridden with `--conf key=value`.
DEFAULTS: dict[str, str] = {
    "spark.app.name": "semel",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "8192",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.python.worker.reuse": "true",
}
#: Added in local mode only: the UI off and the driver bound to loopback, so nothing listens outside.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.memory": "4g",
    # small shuffles on one machine: a task per core, not 200 (run_dedup sizes it to the input again)
    "spark.sql.shuffle.partitions": str(max(2, os.cpu_count() or 2)),
}


def parse_conf(conf: dict[str, Any] | list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """`--conf key=value` strings (or a dict) as a dict of strings, with a clear error for a bad one."""
    if conf is None:
        return {}
    if isinstance(conf, dict):
        return {str(k): str(v) for k, v in conf.items()}
    out: dict[str, str] = {}
    for item in conf:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise SemelError(f"--conf expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = os.path.join(home, "bin", "java")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("java")


def java_version() -> int | None:
    """The major version of the `java` Spark would start (JAVA_HOME first, then PATH), or None."""
    java = _java_binary()
    if java is None:
        return None
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def check_java() -> None:
    """Fail with one line when Java is missing or older than 17 (Spark's one system requirement)."""
    version = java_version()
    if version is None:
        raise SemelError(f"the Spark engine needs Java {MIN_JAVA} or newer, and no `java` was found "
                         "(JAVA_HOME or PATH); install a JDK, e.g. `apt install openjdk-17-jre-headless`")
    if version < MIN_JAVA:
        raise SemelError(f"the Spark engine needs Java {MIN_JAVA} or newer, found Java {version} "
                         f"at {_java_binary()}; install a newer JDK or point JAVA_HOME at one")


def _import_pyspark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SemelError("the Spark engine needs PySpark: pip install 'semel[spark]'") from None
    return SparkSession


def is_local(master: str | None) -> bool:
    """True for local[...] masters (and for no master at all, which means local[*])."""
    return master is None or master.startswith("local")


def _quiet_python_warnings() -> None:
    """PySpark warns on every Arrow UDF that it is not tested with pandas 3 (semel's UDFs take Arrow, not
    pandas); one-line errors and clean logs matter more, so that one warning is silenced."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)


def get_spark(master: str | None = None, conf: dict | list | None = None, spark: Any = None) -> Any:
    """The SparkSession to run on: `spark` as given, the active one (spark-submit, notebooks), or a new one.

    A new session gets DEFAULTS (and LOCAL_DEFAULTS for local masters) under the user's `conf`; an existing
    one keeps its settings, and `conf` entries that can change at run time are applied to it.
    """
    SparkSession = _import_pyspark()
    _quiet_python_warnings()
    user = parse_conf(conf)
    if spark is None and master is not None and master.startswith("sc://"):
        return _connect(SparkSession, master, user)  # Spark Connect: a client only, no JVM here
    if spark is None:
        spark = SparkSession.getActiveSession()
    if spark is not None:
        for key, value in user.items():
            try:
                spark.conf.set(key, value)
            except Exception as exc:  # a static setting of a session already running
                raise SemelError(f"--conf {key}: cannot be changed on a running Spark session ({exc})"
                                 ) from None
        return spark
    master = master or os.environ.get("SEMEL_SPARK_MASTER") or "local[*]"
    if master.startswith("sc://"):  # from SEMEL_SPARK_MASTER
        return _connect(SparkSession, master, user)
    check_java()
    settings = dict(DEFAULTS)
    if is_local(master):
        settings.update(LOCAL_DEFAULTS)
        # workers must run this interpreter (with semel and numba installed), not whatever `python3` is
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "hostname resolves to loopback" warning
    settings.update(user)
    builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SemelError(f"could not start Spark (master {master}): {first}") from None
    session.sparkContext.setLogLevel(os.environ.get("SEMEL_SPARK_LOG_LEVEL", "ERROR"))
    return session


def _connect(SparkSession: Any, url: str, conf: dict[str, str]) -> Any:
    """A Spark Connect session on `url` (sc://host:port), with semel's run-time defaults and `conf`."""
    try:  # PySpark then marks the process a Connect client (pyspark.sql.functions build Connect columns)
        session = SparkSession.builder.remote(url).getOrCreate()
        for key, value in {"spark.sql.execution.arrow.maxRecordsPerBatch": "8192", **conf}.items():
            session.conf.set(key, value)
    except ImportError as exc:
        raise SemelError(f"Spark Connect needs its client libraries: pip install 'semel[spark]' ({exc})"
                         ) from None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SemelError(f"could not connect to Spark at {url}: {first}") from None
    return session


def is_connect(spark: Any) -> bool:
    """True for a Spark Connect session (no SparkContext, no RDDs, no JVM on this side)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def master_of(spark: Any) -> str:
    """The session's master URL (the server's, over Spark Connect)."""
    if is_connect(spark):
        return str(spark.conf.get("spark.master", "connect"))
    return str(spark.sparkContext.master)


def parallelism(spark: Any) -> int:
    """How many tasks the cluster runs at once (default parallelism; over Connect from the master URL)."""
    if not is_connect(spark):
        return int(spark.sparkContext.defaultParallelism)
    m = re.match(r"local\[(\d+)", master_of(spark))
    if m:
        return int(m.group(1))
    return int(spark.conf.get("spark.default.parallelism", None) or (os.cpu_count() or 2))
