"""A client that calls the shop's 1C exchange exactly as 1C's "Обмен с сайтом" does, and the
orders documents 1C sends back."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from tests.support import wait_for

LOGIN = "obmen"
PASSWORD = "пароль-1С"
EXCHANGE_SETTINGS = {"ONEC_LOGIN": LOGIN, "ONEC_PASSWORD": PASSWORD}
PATH = "/bitrix/admin/1c_exchange.php"


def basic(login: str = LOGIN, password: str = PASSWORD) -> dict[str, str]:
    pair = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


class OneC:
    """One exchange session: checkauth, then the cookie on every call."""

    def __init__(self, client, path: str = PATH):
        self.client = client
        self.path = path
        self.cookie: dict[str, str] = {}

    async def call(self, kind: str, mode: str, body: bytes | None = None, **params):
        query = {"type": kind, "mode": mode, **params}
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookie.items())}
        if body is None:
            return await self.client.get(self.path, params=query, headers=headers)
        headers["Content-Type"] = "application/octet-stream"
        return await self.client.post(self.path, params=query, content=body, headers=headers)

    async def checkauth(self, kind: str = "catalog") -> None:
        response = await self.client.get(
            self.path, params={"type": kind, "mode": "checkauth"}, headers=basic()
        )
        assert response.status_code == 200, response.text
        status, name, value = response.text.split("\n")
        assert status == "success"
        self.cookie = {name: value}

    async def init(self, kind: str = "catalog") -> str:
        response = await self.call(kind, "init")
        assert response.status_code == 200, response.text
        return response.text

    async def upload(self, name: str, content: bytes, kind: str = "catalog", piece: int = 0):
        """The file in pieces of `piece` bytes (0: whole), as 1C splits by file_limit."""
        piece = piece or len(content) or 1
        for start in range(0, max(len(content), 1), piece):
            response = await self.call(kind, "file", content[start : start + piece], filename=name)
            assert response.status_code == 200, response.text
            assert response.text == "success"

    async def import_file(self, name: str, kind: str = "catalog", timeout_s: float = 30.0):
        """Repeat `import` while it answers progress; returns the last answer."""
        answers = []

        async def settled() -> bool:
            answers.append(await self.call(kind, "import", filename=name))
            return answers[-1].status_code != 200 or not answers[-1].text.startswith("progress")

        await wait_for(settled, timeout_s, interval_s=0.05)
        return answers[-1]


def orders_update(*documents: dict, namespace: str | None = None) -> bytes:
    """1C's orders document: dicts of number, status, paid, cancelled."""
    ns = f"{{{namespace}}}" if namespace else ""
    root = ET.Element(f"{ns}КоммерческаяИнформация", {"ВерсияСхемы": "2.08"})
    for values in documents:
        document = ET.SubElement(root, f"{ns}Документ")
        for tag, value in (
            ("Ид", values.get("id", values["number"])),
            ("Номер", values["number"]),
            ("ХозОперация", values.get("operation", "Заказ товара")),
            ("Сумма", "1000"),
        ):
            ET.SubElement(document, f"{ns}{tag}").text = str(value)
        requisites = ET.SubElement(document, f"{ns}ЗначенияРеквизитов")
        for name, key in (
            ("Статус заказа", "status"),
            ("Заказ оплачен", "paid"),
            ("Отменен", "cancelled"),
            ("Проведен", "posted"),
        ):
            if key in values:
                item = ET.SubElement(requisites, f"{ns}ЗначениеРеквизита")
                ET.SubElement(item, f"{ns}Наименование").text = name
                value = values[key]
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                ET.SubElement(item, f"{ns}Значение").text = text
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
