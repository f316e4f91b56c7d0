"""mysql (MariaDB here): exact through column comments that carry the Arrow type; nanoseconds refused."""

from tests.contract.alltypes import NANOS
from tests.contract.suite import ContractSuite, Engine
from tests.services import MYSQL_URL, mysql_place

ENGINE = Engine(
    "mysql",
    home=lambda place: {"type": "mysql", "url": MYSQL_URL, "schema": place.name},
    store=lambda place: {"type": "mysql", "url": MYSQL_URL, "schema": place.name},
    place=mysql_place,
    refuses=[(NANOS, "MySQL keeps at most microseconds")],
)


class TestMysql(ContractSuite):
    engine = ENGINE
