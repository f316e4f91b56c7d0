"""A create-only upload of a large file to Azure Blob Storage, in blocks: what obstore cannot do.

object_store writes create-only (``If-None-Match: *``) in one request only, the whole file in memory and at most
5000 MiB. Azure's own way for a large blob is to stage it in blocks (Put Block: uncommitted blocks are invisible,
no reader can list or open them) and to commit them with one Put Block List, which takes the same condition: the
blob appears whole or not at all, and never replaces one that exists. The requests go to a URL that obstore signs
with the store's own credentials (a service SAS from the account key, a user delegation SAS from an identity), so
no credential is handled here. Blocks of a run that died are never committed; Azure discards them within a week.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from hygge.core import faults
from hygge.storage.base import Conflict, StorageError

SIGNED_FOR = timedelta(hours=12)  # a URL outlives the slowest upload of a run's file
ATTEMPTS = 5
SINGLE_PUT = 5000 * 2**20  # what Azure's Put Blob takes in one request


class Unsigned(Exception):
    """The store's credentials cannot sign a URL (an identity without the right to a user delegation key)."""


def create_in_blocks(objects: Any, key: str, local: Path, shown: str, block: int, at_once: int) -> None:
    """Stage ``local`` as blocks of ``block`` bytes (``at_once`` in flight), then commit them only if ``key``
    has no blob; Conflict if it has one."""
    import obstore

    try:
        url = str(obstore.sign(objects, "PUT", key, SIGNED_FOR))
    except Exception as exc:
        raise Unsigned(str(exc)) from exc
    size = local.stat().st_size
    tag = uuid.uuid4().hex[:12]  # this attempt's blocks, apart from any other's
    ids = [base64.b64encode(f"{tag}-{n:06d}".encode()).decode() for n in range((size + block - 1) // block or 1)]

    def put_block(n: int) -> None:
        with open(local, "rb") as handle:
            handle.seek(n * block)
            data = handle.read(block)
        _request("PUT", f"{url}&comp=block&blockid={urllib.parse.quote(ids[n], safe='')}", data, {}, shown)

    with ThreadPoolExecutor(at_once, thread_name_prefix="hygge-block") as pool:
        list(pool.map(put_block, range(len(ids))))
    faults.point("publish-gap")  # every block staged, none visible: the commit below is the publish (new in place)
    body = ('<?xml version="1.0" encoding="utf-8"?><BlockList>'
            + "".join(f"<Latest>{i}</Latest>" for i in ids) + "</BlockList>").encode()
    status = _request("PUT", f"{url}&comp=blocklist", body, {"If-None-Match": "*"}, shown, conflicts=(409, 412))
    if status in (409, 412):
        raise Conflict(f"{shown} exists")


def _request(method: str, url: str, data: bytes, headers: dict[str, str], shown: str,
             conflicts: tuple[int, ...] = ()) -> int:
    """One request, retried with backoff when the server or the network fails for a moment."""
    failure = StorageError("could not upload a block of an object on azure", path=shown)
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)))
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Length": str(len(data)), **headers})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            if exc.code in conflicts:
                return int(exc.code)
            text = exc.read()[:300].decode(errors="replace")
            failure = StorageError("could not upload a block of an object on azure", path=shown,
                                   found=f"HTTP {exc.code}: {text}", transient=exc.code >= 500 or exc.code == 429,
                                   hint="check the credentials and that they may write here")
            failure.__cause__ = exc
            if exc.code < 500 and exc.code != 429:
                raise failure from exc  # refused: asking again would be refused again
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            failure = StorageError("could not upload a block of an object on azure", path=shown, found=str(exc),
                                   transient=True, hint="hygge retried it; check the network, then run again")
            failure.__cause__ = exc
    raise failure  # the last attempt's
