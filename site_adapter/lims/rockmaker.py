"""Rock Maker screen XML: the screen, its conditions and their components (subset in docs/lims.md).

Each bad condition is reported with its line and the others import. Parsing here; writes in ingest.py.
"""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field

import asyncpg

from mx_schema.errors import ContractError
from site_adapter.lims.conditions import component
from site_adapter.lims.ingest import ConditionIn, ScreenIn, write_screen
from site_adapter.lims.report import ImportReport, RowError
from site_adapter.lims.units import number

WELLS_96 = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str | None:
        node = self.find(tag)
        return node.text.strip() if node is not None and node.text.strip() else None


def _parse_xml(text: str) -> _Node:
    """A small element tree with each element's line (ElementTree's C parser does not keep lines)."""
    parser = xml.parsers.expat.ParserCreate()
    root = _Node("#document", {}, 0)
    stack = [root]

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    # No DTDs, no entities: a screen export needs neither (and this refuses entity expansion attacks).
    parser.EntityDeclHandler = lambda *a: (_ for _ in ()).throw(
        ValueError("entity declarations are not accepted")
    )
    parser.Parse(text.encode("utf-8") if isinstance(text, str) else text, True)
    if not root.children:
        raise ValueError("no root element")
    return root.children[0]


# A stock of an ingredient: (name, CAS number, units, pH, role).
_Stock = tuple[str, str | None, str | None, float | None, str | None]


def parse_rockmaker_xml(text: str, default_name: str = "screen") -> tuple[ScreenIn | None, list[RowError]]:
    """The screen, with every good condition; errors for the bad ones (line of the offending element)."""
    try:
        root = _parse_xml(text)
    except xml.parsers.expat.ExpatError as exc:
        return None, [RowError(exc.lineno, f"not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)}")]
    except ValueError as exc:
        return None, [RowError(1, str(exc))]
    if root.tag != "screen":
        return None, [
            RowError(root.line, f"root element is <{root.tag}>, expected <screen> (a Rock Maker screen)")
        ]
    name = root.attrs.get("name") or root.value("name") or default_name
    errors: list[RowError] = []
    stocks = _stocks(root, errors)
    conditions: list[ConditionIn] = []
    cond_parent = root.find("conditions")
    for i, cond in enumerate(cond_parent.findall("condition") if cond_parent else []):
        if i >= len(WELLS_96):
            errors.append(
                RowError(cond.line, "more than 96 conditions: only 96-condition screens are accepted")
            )
            break
        try:
            conditions.append(_condition(WELLS_96[i], cond, stocks))
        except ContractError as exc:
            errors.append(RowError(cond.line, f"condition {WELLS_96[i]}: {exc}"))
    return ScreenIn(name, root.attrs.get("manufacturer"), conditions), errors


def _stocks(root: _Node, errors: list[RowError]) -> dict[int, _Stock]:
    """Every good stock of the screen's ingredients by local id; an error for each bad one."""
    stocks: dict[int, _Stock] = {}
    ingredients = root.find("ingredients")
    for ing in ingredients.findall("ingredient") if ingredients else []:
        ing_name = ing.value("name")
        cas_node = ing.find("casNumbers")
        cas = cas_node.value("casNumber") if cas_node else ing.value("casNumber")
        types = ing.find("types")
        role = types.value("type") if types else None
        if not ing_name:
            errors.append(RowError(ing.line, "ingredient without <name>"))
            continue
        stock_list = ing.find("stocks")
        for stock in stock_list.findall("stock") if stock_list else []:
            try:
                local_id = int(stock.value("localID") or "")
                stock_ph = number(stock.value("pH"), "stock pH")
            except (ValueError, ContractError) as exc:
                errors.append(
                    RowError(
                        stock.line,
                        f"stock of {ing_name}: {exc if isinstance(exc, ContractError) else 'no integer <localID>'}",
                    )
                )
                continue
            stocks[local_id] = (ing_name, cas, stock.value("units"), stock_ph, role)
    return stocks


def _condition(well: str, cond: _Node, stocks: dict[int, _Stock]) -> ConditionIn:
    """One condition of the screen, at `well`; ContractError when it is not a good one."""
    comps = []
    for ci in cond.findall("conditionIngredient"):
        try:
            local_id = int(ci.value("stockLocalID") or "")
        except ValueError:
            raise ContractError(
                f"line {ci.line}: <conditionIngredient> without an integer <stockLocalID>"
            ) from None
        if local_id not in stocks:
            raise ContractError(f"line {ci.line}: stockLocalID {local_id} names no stock of the screen")
        ing_name, cas, unit, stock_ph, ing_role = stocks[local_id]
        conc = number(ci.value("concentration"), f"line {ci.line}: concentration of {ing_name}")
        ph = number(ci.value("pH"), f"line {ci.line}: pH of {ing_name}")
        comps.append(component(ing_name, cas, conc, unit, ci.value("type") or ing_role, ph))
    if not comps:
        raise ContractError("a condition without ingredients")
    phs = [c.ph for c in comps if c.ph is not None]
    return ConditionIn(well, phs[0] if phs else None, comps)


async def import_rockmaker_xml(
    conn: asyncpg.Connection, text: str, *, source: str = "<text>", default_name: str = "screen"
) -> ImportReport:
    report = ImportReport(source, "rockmaker-xml")
    screen, errors = parse_rockmaker_xml(text, default_name)
    report.errors.extend(errors)
    if screen is not None and screen.conditions:
        await write_screen(conn, screen)
        report.imported = len(screen.conditions)
    return report
