"""The crystallisation-chemical vocabulary (vocabulary.toml, package data): one term, every spelling of it.

Pure and read-only: `lookup("PEG3350")` names the chemical; `spellings()` lists the lower-case names a
record may use for it, for the search to match. No SQL here; the sources are cited in the data file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

_DASHES = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "_": "-"}
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # "3,350" -> "3350", not "2,4-pentanediol"


@dataclass(frozen=True, slots=True)
class Chemical:
    """A vocabulary entry: the name records use, its CAS number, and every other spelling (lower case)."""

    name: str
    cas: str | None
    spellings: tuple[str, ...]  # lower case, the name included
    source: str


@dataclass(frozen=True, slots=True)
class _Family:
    name: str  # with {n}
    cas: str | None
    patterns: tuple[re.Pattern[str], ...]
    spellings: tuple[str, ...]
    kilo_spellings: tuple[str, ...]
    source: str

    def match(self, term: str) -> Chemical | None:
        for pattern in self.patterns:
            m = pattern.match(term)
            if m is None:
                continue
            weight = float(m["n"]) * (1000 if m.groupdict().get("k") else 1)
            if weight <= 0 or weight != int(weight):
                return None
            return self.member(int(weight))
        return None

    def member(self, n: int) -> Chemical:
        name = self.name.format(n=n)
        forms = [name.lower()] + [s.format(n=n) for s in self.spellings]
        if n % 1000 == 0:
            forms += [s.format(k=n // 1000) for s in self.kilo_spellings]
        return Chemical(name=name, cas=self.cas, spellings=tuple(dict.fromkeys(forms)), source=self.source)


@dataclass
class Vocabulary:
    chemicals: tuple[Chemical, ...]
    families: tuple[_Family, ...]
    variants: tuple[tuple[str, str], ...]
    references: tuple[str, ...]
    index: dict[str, Chemical] = field(default_factory=dict)  # normalised spelling -> chemical

    def __post_init__(self) -> None:
        for chem in self.chemicals:
            for form in chem.spellings:
                self.index[self.normalise(form)] = chem

    def normalise(self, term: str) -> str:
        """Lower case, single spaces, one kind of dash, American spelling, no thousands separators."""
        text = " ".join(term.translate(_DASHES).split()).lower()
        for british, american in self.variants:
            text = text.replace(british, american)
        return _THOUSANDS.sub("", text)

    def lookup(self, term: str) -> Chemical | None:
        """The chemical `term` names (a name, synonym, formula or abbreviation), or None when unknown."""
        key = self.normalise(term)
        found = self.index.get(key)
        if found is not None:
            return found
        for family in self.families:
            member = family.match(key)
            if member is not None:
                return member
        return None

    def by_cas(self, cas: str) -> list[Chemical]:
        return [c for c in self.chemicals if c.cas == cas]

    def spellings(self, term: str) -> tuple[str, ...]:
        """Lower-case names a record may give the chemical `term` names; just `term` itself when unknown."""
        chem = self.lookup(term)
        own = " ".join(term.split()).lower()
        if chem is None:
            return (own,)
        forms = [own, *chem.spellings]
        # Records written with British spellings ("ammonium sulphate") match too.
        for british, american in self.variants:
            forms += [f.replace(american, british) for f in forms if american in f]
        return tuple(dict.fromkeys(forms))

    def canonical(self, term: str) -> tuple[str, str | None] | None:
        """(name, CAS) for a known term: what an importer stores; None when unknown."""
        chem = self.lookup(term)
        return None if chem is None else (chem.name, chem.cas)


def _chemical(entry: dict[str, Any]) -> Chemical:
    name = entry["name"]
    forms = [name, *entry.get("synonyms", [])]
    return Chemical(
        name=name,
        cas=entry.get("cas"),
        spellings=tuple(dict.fromkeys(f.lower() for f in forms)),
        source=entry.get("source", ""),
    )


def parse(text: str) -> Vocabulary:
    """A vocabulary from TOML text (the shipped file, or a test's)."""
    data = tomllib.loads(text)
    variants = tuple((a, b) for a, b in data.get("spelling", {}).get("variants", []))
    chemicals = tuple(_chemical(e) for e in data.get("chemical", []))
    families = tuple(
        _Family(
            name=f["name"],
            cas=f.get("cas"),
            patterns=tuple(re.compile(p) for p in f["patterns"]),
            spellings=tuple(f.get("spellings", [])),
            kilo_spellings=tuple(f.get("kilo_spellings", [])),
            source=f.get("source", ""),
        )
        for f in data.get("family", [])
    )
    return Vocabulary(
        chemicals=chemicals,
        families=families,
        variants=variants,
        references=tuple(data.get("source", {}).get("references", [])),
    )


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (site_adapter/lims/vocabulary.toml)."""
    return parse(resources.files("site_adapter.lims").joinpath("vocabulary.toml").read_text(encoding="utf-8"))
