"""CommerceML files that must change nothing (hostile, truncated, mis-encoded, not a catalogue),
and the import-commerceml command line: files in order, progress, one line for a bad file."""

from __future__ import annotations

import asyncio

import pytest

from services.errors import ExchangeFileInvalid
from tests.commerceml_docs import (
    DRESS,
    RETAIL,
    Offer,
    Product,
    catalogue_offers,
    import_xml,
    offers_xml,
)
from tests.factories import first_exchange, good_id, snapshot
from tests.support import run_cli

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<КоммерческаяИнформация ВерсияСхемы="2.10"><Каталог><Товары><Товар><Ид>x</Ид>
<Наименование>&lol9;</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>""".encode()
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
DTD_REFUSED = "DOCTYPE, entity declarations or external references is refused"


def _doc(body: str, doctype: str = "") -> bytes:
    return (
        f'{HEADER}{doctype}<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
        f'ВерсияСхемы="2.10">{body}</КоммерческаяИнформация>'
    ).encode()


def _many_goods(count: int) -> bytes:
    goods = [
        Product(f"00000000-0000-4000-8000-{index:012d}", f"Товар {index}", f"B-{index}")
        for index in range(count)
    ]
    return import_xml([], goods)


HOSTILE = {
    "billion laughs": (BILLION_LAUGHS, DTD_REFUSED),
    "external entity": (
        _doc(
            "<Каталог><Товары><Товар><Ид>x</Ид><Наименование>&xxe;</Наименование></Товар>"
            "</Товары></Каталог>",
            '<!DOCTYPE КоммерческаяИнформация [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        ),
        DTD_REFUSED,
    ),
    "external DTD": (
        _doc("<Каталог/>", '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">'),
        DTD_REFUSED,
    ),
    "parameter entity": (
        _doc("<Каталог/>", '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'),
        DTD_REFUSED,
    ),
    "undeclared entity": (_doc("<Каталог><Ид>&xxe;</Ид></Каталог>"), "undefined entity"),
    "truncated after a written chunk": (_many_goods(1500)[:-2000], "truncated at line"),
    "truncated mid-tag": (offers_xml(catalogue_offers())[:700], "truncated at line"),
    "not UTF-8": (
        offers_xml(catalogue_offers()).decode().encode("cp1251"),
        "do not match the declared encoding",
    ),
    "unknown encoding": (
        b'<?xml version="1.0" encoding="x-klingon"?><a/>',
        "encoding cannot be read",
    ),
    "empty": (b"", "empty or not XML"),
    "not XML": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00 zip bytes", "Invalid XML at line 1"),
    "junk after the document": (_doc("<Каталог/>") + b"<more/>", "junk after document"),
    "orders": (_doc("<Документ><Ид>1</Ид></Документ>"), "documents (orders), not a catalogue"),
    "another root": (f"{HEADER}<html><body/></html>".encode(), "root element is <html>"),
    "no catalogue": (_doc("<Ид>1</Ид>"), "not a catalogue file"),
    "bad changes flag": (
        _doc('<ПакетПредложений СодержитТолькоИзменения="иногда"/>'),
        "must be true or false",
    ),
    "offer without Ид": (
        _doc(
            "<ПакетПредложений><Предложения><Предложение><Наименование>Платье</Наименование>"
            "</Предложение></Предложения></ПакетПредложений>"
        ),
        "Предложение number 1 (Платье) has no Ид",
    ),
    "Ид too long": (
        offers_xml([Offer("x" * 256, "Платье", prices={RETAIL: "1"})]),
        "longer than 255",
    ),
    "group without name": (
        _doc("<Классификатор><Группы><Группа><Ид>g</Ид></Группа></Группы></Классификатор>"),
        "Группа g has no Наименование",
    ),
}


@pytest.mark.parametrize("content,reason", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_bad_file_is_refused_and_changes_nothing(
    db, import_file, onec_settings, content, reason
):
    await first_exchange(import_file, onec_settings)
    before = await snapshot(db)
    with pytest.raises(ExchangeFileInvalid) as refused:
        await import_file(onec_settings, content, "bad.xml")
    assert reason in refused.value.message
    assert "Traceback" not in refused.value.message and "/etc/passwd" not in refused.value.message
    assert await snapshot(db) == before


def _env(settings, onec_settings) -> dict:
    return {
        "DATABASE_URL": settings.DATABASE_URL,
        "ONEC_PRICE_TYPE_ID": "Розничная",
        "ONEC_DEFAULT_STRUCTURE_ID": str(onec_settings.ONEC_DEFAULT_STRUCTURE_ID),
    }


async def test_command_line_imports_files_in_order(
    client, admin_headers, db, settings, onec_settings, tmp_path
):
    goods = [
        Product(f"00000000-0000-4000-8000-{index:012d}", f"Юбка {index}", f"C-{index}")
        for index in range(1200)
    ]
    offers = [
        Offer(f"{good.id}#1", f"{good.name} (Чёрный, 42)", "Чёрный", "42", {RETAIL: "1990"})
        for good in goods
    ]
    for offer in offers:
        offer.quantity = "3"
    (tmp_path / "import.xml").write_bytes(import_xml([], goods))
    (tmp_path / "offers.xml").write_bytes(offers_xml(offers))
    result = await asyncio.to_thread(
        run_cli,
        "import-commerceml",
        str(tmp_path / "import.xml"),
        str(tmp_path / "offers.xml"),
        env=_env(settings, onec_settings),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "import.xml: 1000 items",
        "import.xml: catalog imported: groups_created 1, goods_created 1200",
        "offers.xml: 1000 items",
        "offers.xml: offers imported: offers_created 1200, colors_created 1, sizes_created 1",
    ]
    first = await good_id(db, goods[0].id)
    good = (await client.get(f"/goods/{first}", headers=admin_headers)).json()
    assert [(v["price"], v["stock"]) for v in good["variations"]] == [(1990, 3)]


async def test_command_line_stops_at_a_bad_file(db, settings, onec_settings, tmp_path):
    good = Product(DRESS, "Платье «Лето»", "VN-001")
    (tmp_path / "import.xml").write_bytes(import_xml([], [good]))
    (tmp_path / "bomb.xml").write_bytes(BILLION_LAUGHS)
    (tmp_path / "offers.xml").write_bytes(offers_xml(catalogue_offers()))
    files = [str(tmp_path / name) for name in ("import.xml", "bomb.xml", "offers.xml")]
    result = await asyncio.to_thread(
        run_cli, "import-commerceml", *files, env=_env(settings, onec_settings)
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: bomb.xml: XML with a {DTD_REFUSED}"]
    assert result.stdout.splitlines() == [
        "import.xml: catalog imported: groups_created 1, goods_created 1"
    ]
    assert await good_id(db, DRESS) is not None
    missing = await asyncio.to_thread(
        run_cli, "import-commerceml", str(tmp_path / "nope.xml"), env=_env(settings, onec_settings)
    )
    assert missing.returncode == 2 and missing.stderr.strip().endswith("nope.xml: no such file")
