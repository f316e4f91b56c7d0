"""Table locations: local folders, and OneLake addresses parsed and checked (OneLake itself is not reachable here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.errors import ConfigError
from hygge.lake.location import parse_onelake, storage_options, table_location

WS = "abfss://Sales@onelake.dfs.fabric.microsoft.com"


@pytest.mark.parametrize(("address", "schema", "table"), [
    (f"{WS}/Shop.Lakehouse/Tables", None, None),
    (f"{WS}/Shop.Lakehouse/Tables/dbo", "dbo", None),
    (f"{WS}/Shop.Lakehouse/Tables/dbo/orders", "dbo", "orders"),
    ("abfss://4f8e0e2a-1c3b-4d5e-8f90-123456789abc@westeurope-onelake.dfs.fabric.microsoft.com/"
     "0a1b2c3d-4e5f-6789-abcd-ef0123456789/Tables/sales/orders_2024", "sales", "orders_2024"),
])
def test_onelake_addresses_of_a_lakehouse_a_schema_or_a_table(address: str, schema: str | None,
                                                              table: str | None) -> None:
    parsed = parse_onelake(address)
    assert (parsed.schema, parsed.table) == (schema, table)
    assert parsed.uri == address.replace("westeurope-onelake", "westeurope-onelake")


def test_entities_settle_below_the_address_and_delta_rs_is_told_it_is_fabric(tmp_path: Path) -> None:
    tables = table_location(tmp_path, f"{WS}/Shop.Lakehouse/Tables", "sales.orders")
    assert tables.uri == f"{WS}/Shop.Lakehouse/Tables/sales/orders" and tables.local is None
    assert table_location(tmp_path, f"{WS}/Shop.Lakehouse/Tables/dbo", "orders").uri.endswith("Tables/dbo/orders")
    one = table_location(tmp_path, f"{WS}/Shop.Lakehouse/Tables/dbo/orders", "anything")
    assert one.uri.endswith("Tables/dbo/orders")
    assert storage_options(one) == {"use_fabric_endpoint": "true"}
    with pytest.raises(ConfigError, match="cannot be a lakehouse table name"):
        table_location(tmp_path, f"{WS}/Shop.Lakehouse/Tables/dbo", "my orders")


@pytest.mark.parametrize(("address", "phrase"), [
    ("https://onelake.dfs.fabric.microsoft.com/ws/Shop.Lakehouse/Tables", "starts with abfss://<workspace>@"),
    (f"{WS.replace('onelake.dfs.fabric', 'example.blob.core.windows')}/Shop.Lakehouse/Tables", "is not a OneLake host"),
    (f"{WS}/Shop.Lakehouse/Files/orders", "lives under <lakehouse>.Lakehouse/Tables"),
    (f"{WS}/Shop.Warehouse/Tables/dbo", "is not a lakehouse"),
    (f"{WS}/Shop.Lakehouse/Tables/dbo/orders/extra", "at most a schema and a table"),
    (f"{WS}/Shop.Lakehouse/Tables/dbo/or-ders", "is not a valid lakehouse table name"),
    ("abfss://@onelake.dfs.fabric.microsoft.com/Shop.Lakehouse/Tables", "names no workspace"),
])
def test_malformed_onelake_addresses_are_refused_saying_what_is_wrong(address: str, phrase: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_onelake(address)
    assert phrase in str(caught.value) and "next step" in str(caught.value)


def test_the_local_equivalent_of_a_lakehouse_layout_is_a_folder_of_tables(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "in" / "orders.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "delta", "path": "Shop.Lakehouse/Tables/dbo"},
                        "orders", root=tmp_path)
    assert result.ok and result.location == "Shop.Lakehouse/Tables/dbo/orders"
    assert (tmp_path / "Shop.Lakehouse" / "Tables" / "dbo" / "orders" / "_delta_log").is_dir()


def test_a_onelake_store_is_refused_clearly_until_object_storage_reaches_it(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1]}), tmp_path / "in" / "orders.parquet")
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "delta", "path": f"{WS}/Shop.Lakehouse/Tables"},
                        "orders", root=tmp_path)
    assert result.status == "failed" and "needs hygge's object-storage support" in str(result.error)


def test_without_deltalake_the_error_gives_the_exact_install_line() -> None:
    code = ("import sys; sys.modules['deltalake'] = None\n"
            "from hygge.core.registry import store_class\n"
            "from hygge.errors import MissingDriver\n"
            "try:\n    store_class('delta')\nexcept MissingDriver as exc:\n    print(exc.hint)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == 'pip install "hygge[delta]"', out.stderr
