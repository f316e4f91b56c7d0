"""A connection to the bucket dropped in the middle of an upload is retried, and the move lands once.

Between hygge and the S3 server sits a small TCP proxy of the test's own that cuts (RST) the first few
connections once they have carried some bytes upstream: as a load balancer restarting, or a flaky link.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.buckets import make_bucket
from tests.helpers import run_hygge, write_project


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server; cuts the first ``cuts`` connections after ``after`` bytes up."""

    def __init__(self, upstream: tuple[str, int], cuts: int, after: int):
        self.upstream, self.cuts, self.after = upstream, cuts, after
        self.cut = 0
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        with self.lock:
            doomed = self.cut < self.cuts
            if doomed:
                self.cut += 1
        sent = [0]

        def pump(src: socket.socket, dst: socket.socket, upstream: bool) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
                    if upstream:
                        sent[0] += len(data)
                        if doomed and sent[0] > self.after:
                            for sock in (client, server):  # an abrupt reset, not a polite close
                                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                                sock.close()
                            return
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(server, client, False), daemon=True).start()
        pump(client, server, True)

    def close(self) -> None:
        self.server.close()


def test_a_connection_cut_mid_upload_is_retried_and_the_rows_land_once(tmp_path: Path) -> None:
    bucket = make_bucket("s3", "cut-mid-upload")
    settings = bucket.settings
    proxy = CuttingProxy((settings.host, settings.port), cuts=3, after=200_000)
    try:
        connection = {**bucket.connection(), "endpoint": f"http://127.0.0.1:{proxy.port}"}
        write_project(tmp_path, f"""\
            name: cut
            connections:
              lake: {json.dumps(connection)}
            flows:
              f:
                home: {{type: parquet, path: in}}
                store: {{type: parquet, path: "{bucket.url('lake')}", connection: lake, compression: none}}
                entities: [t]
            """)
        (tmp_path / "in").mkdir()
        table = pa.table({"id": pa.array(range(200_000), pa.int64()), "v": [f"value {i:09d}" for i in range(200_000)]})
        pq.write_table(table, tmp_path / "in" / "t.parquet", compression="none")
        report = json.loads(run_hygge("go", "--json", cwd=tmp_path, check=0).stdout)
        assert report["moves"][0]["rows_in_target"] == 200_000
        assert proxy.cut == 3, "the proxy cut connections in the middle of the upload"
    finally:
        proxy.close()
    assert bucket.read_back(tmp_path, "t").equals(table)
