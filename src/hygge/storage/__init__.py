"""Where bytes live: local folders and buckets behind one small interface (base.py)."""

from __future__ import annotations

from typing import Any

from hygge.storage.address import Address, is_url, parse

__all__ = ["is_url", "open_storage"]


def open_storage(path: str, connection: str | dict[str, Any] | None,
                 connections: dict[str, dict[str, Any]]) -> tuple[Any, str]:
    """The storage of a bucket URL, rooted at the bucket, and the prefix the URL names inside it."""
    from hygge.storage.remote import storage_for
    from hygge.storage.settings import settings_for

    address = parse(path)
    settings = settings_for(address, connection, connections)
    root = Address(address.family, address.bucket, "", address.account, address.domain, address.text)
    return storage_for(root, settings), address.prefix
