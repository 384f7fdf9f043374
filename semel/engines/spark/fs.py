"""Small file operations on any path Spark reads (local, HDFS, S3, GCS, DBFS), through Hadoop's FileSystem:
the work directory's `Files` on a cluster filesystem, listing inputs and moving part files."""
from __future__ import annotations

import glob
import os
from typing import Any

from semel.engines.workdir import LocalFiles
from semel.errors import SemelError


class HadoopFiles:
    """Small file operations on any path Spark reads (local, HDFS, S3, GCS, DBFS) via Hadoop's FileSystem."""

    def __init__(self, spark: Any) -> None:
        self.jvm = spark.sparkContext._jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str) -> tuple[Any, Any]:
        p = self.jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self.conf), p

    def join(self, root: str, *parts: str) -> str:
        return join(root, *parts)

    def is_dir(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p) and fs.getFileStatus(p).isDirectory())

    def listdir(self, path: str) -> list[str]:
        fs, p = self._fs(path)
        return sorted(str(st.getPath().getName()) for st in fs.listStatus(p))

    def makedirs(self, path: str) -> None:
        fs, p = self._fs(path)
        fs.mkdirs(p)

    def identity(self, uri: str) -> list:
        """An input's identity for the resume fingerprint: path, size, modification time."""
        fs, p = self._fs(uri)
        st = fs.getFileStatus(p)
        return [uri, int(st.getLen()), int(st.getModificationTime())]

    def exists(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p))

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def is_local(self, path: str) -> bool:
        fs, _ = self._fs(path)
        return fs.getScheme() == "file"

    def qualify(self, path: str) -> str:
        fs, p = self._fs(path)
        return str(fs.makeQualified(p).toString())

    def read_text(self, path: str) -> str | None:
        if not self.exists(path):
            return None
        fs, p = self._fs(path)
        stream = fs.open(p)
        try:
            reader = self.jvm.java.io.BufferedReader(self.jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            while True:
                line = reader.readLine()
                if line is None:
                    break
                lines.append(line)
            return "\n".join(lines)
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        """Write a small file atomically: a temporary name, then a rename."""
        fs, p = self._fs(path)
        tmp = self.jvm.org.apache.hadoop.fs.Path(path + ".tmp")
        out = fs.create(tmp, True)
        out.write(bytearray(text.encode("utf-8")))
        out.close()
        if fs.exists(p):
            fs.delete(p, True)
        fs.rename(tmp, p)

    def move(self, src: str, dst: str) -> None:
        """`rename`, by the operating system between two local paths (no Hadoop .crc file follows)."""
        if self.is_local(src) and self.is_local(dst):
            os.replace(local_path(self.qualify(src)), local_path(self.qualify(dst)))
        else:
            self.rename(src, dst)

    def rename(self, src: str, dst: str) -> None:
        fs, p = self._fs(src)
        q = self.jvm.org.apache.hadoop.fs.Path(dst)
        if fs.exists(q):
            fs.delete(q, True)
        if not fs.rename(p, q):
            raise SemelError(f"could not move {src} to {dst}")

    def list_files(self, path: str) -> list[str]:
        """Files matching a path, a glob or under a folder (recursively), sorted, hidden and _* left out."""
        fs, p = self._fs(path)
        statuses = fs.globStatus(p) or []
        out: list[str] = []
        for st in statuses:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    out.append(str(it.next().getPath().toString()))
            else:
                out.append(str(st.getPath().toString()))
        return sorted(f for f in out if not os.path.basename(f).startswith(("_", ".")))

    def parts(self, folder: str, suffix: str) -> list[str]:
        fs, p = self._fs(folder)
        return sorted(str(st.getPath().toString()) for st in fs.listStatus(p)
                      if st.getPath().getName().startswith("part-")
                      and st.getPath().getName().endswith(suffix))


class ConnectFiles(LocalFiles):
    """The same operations for a Spark Connect client, which has no JVM: local paths (a folder the client
    and the cluster share), through the operating system."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def join(self, root: str, *parts: str) -> str:
        return join(root, *parts)

    def is_local(self, path: str) -> bool:
        return ":" not in path.split("/", 1)[0] or path.startswith("file:")

    def qualify(self, path: str) -> str:
        if not self.is_local(path):
            raise SemelError(f"over Spark Connect semel reads and writes local paths only, not {path}")
        return "file:" + os.path.abspath(local_path(path))

    def delete(self, path: str) -> None:
        super().delete(local_path(path))

    def identity(self, uri: str) -> list:
        st = os.stat(local_path(uri))
        return [uri, int(st.st_size), int(st.st_mtime * 1000)]

    def move(self, src: str, dst: str) -> None:
        os.replace(local_path(src), local_path(dst))

    rename = move

    def list_files(self, path: str) -> list[str]:
        self.qualify(path)
        found = sorted(glob.glob(local_path(path))) if glob.has_magic(path) else [local_path(path)]
        out: list[str] = []
        for f in found:
            if os.path.isdir(f):
                out.extend(os.path.join(d, n) for d, _, names in os.walk(f) for n in names)
            elif os.path.exists(f):
                out.append(f)
        return sorted("file:" + os.path.abspath(f) for f in out
                      if not os.path.basename(f).startswith(("_", ".")))

    def parts(self, folder: str, suffix: str) -> list[str]:
        d = local_path(folder)
        return sorted("file:" + os.path.abspath(os.path.join(d, n)) for n in os.listdir(d)
                      if n.startswith("part-") and n.endswith(suffix))


def files_for(spark: Any) -> HadoopFiles | ConnectFiles:
    """The file operations for this session: Hadoop's FileSystem, or the OS's over Spark Connect."""
    from semel.engines.spark.session import is_connect

    return ConnectFiles(spark) if is_connect(spark) else HadoopFiles(spark)


def local_path(uri: str) -> str:
    return uri[5:] if uri.startswith("file:") else uri


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])
