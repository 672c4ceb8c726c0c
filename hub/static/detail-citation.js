// The "Cite and deposit" card of the detail view (issue 19): the DOI that cites the collection, its PDB
// entries and where the raw data are archived, as links. Every URL comes from the hub's answer
// (Doi.url, PdbEntry.rcsbUrl/pdbeUrl, ArchiveLink.url); only https ones become links.

import { DASH, h, when } from "./dom.js";

/** The detail query's selection for this card (DataCollection fields; the hub drops those it lacks). */
export const CITATION_FIELDS = {
  doi: "doi url level licence openFrom",
  pdbEntries: "pdbId relation name title source rcsbUrl pdbeUrl",
  archiveLinks: "url kind openFrom",
};

function safeLink(url, text, label) {
  let parsed = null;
  try { parsed = new URL(url); } catch { parsed = null; }
  if (!parsed || parsed.protocol !== "https:") return text;
  return h("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank", "aria-label": label || null }, text);
}

function doiRows(doi) {
  if (!doi) return [["DOI", h("span", { class: "muted" }, "none minted")]];
  const open = doi.openFrom ? `open from ${when(doi.openFrom)} UTC` : "open date not stated";
  return [["DOI", safeLink(doi.url, doi.doi, `DOI ${doi.doi} at doi.org`)],
    ["Minted for", doi.level], ["Licence", doi.licence || DASH], ["Access", open]];
}

function entryItem(e) {
  const what = [e.name, e.title, e.source].filter(Boolean).join(" · ");
  const how = e.relation === "processing" ? "matched to a processing result" : "registered for the protein";
  if (!e.pdbId) return h("li", {}, `${what || "a model"} (no PDB code; ${how})`);
  return h("li", { dataset: { pdb: e.pdbId } }, h("strong", {}, e.pdbId), " ",
    safeLink(e.rcsbUrl, "RCSB", `${e.pdbId} at RCSB PDB`), " · ", safeLink(e.pdbeUrl, "PDBe", `${e.pdbId} at PDBe`),
    what ? ` — ${what}` : "", ` (${how})`);
}

/** The card for collection `n` (a detail answer); says plainly when the hub serves no identifiers. */
export function citationSection(n) {
  const known = "doi" in n || "pdbEntries" in n || "archiveLinks" in n;
  const body = [];
  if (!known) {
    body.push(h("p", { class: "muted" }, "The site that holds this collection does not serve identifiers yet."));
  } else {
    const rows = doiRows(n.doi);
    body.push(h("table", { class: "facts" }, h("caption", {}, "Citation"),
      h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value))))));
    const entries = n.pdbEntries || [];
    body.push(h("h4", {}, "PDB entries"), entries.length
      ? h("ul", { class: "pdb-entries" }, entries.map(entryItem))
      : h("p", { class: "muted" }, "No PDB entry is linked to this collection."));
    const links = n.archiveLinks || [];
    if (links.length) {
      body.push(h("h4", {}, "Raw data archive"), h("ul", {}, links.map((a) =>
        h("li", {}, safeLink(a.url, a.url), a.kind ? ` (${a.kind})` : "", a.openFrom ? `, open from ${when(a.openFrom)} UTC` : ""))));
    }
  }
  return h("section", { class: "card", "aria-labelledby": "citation-heading", dataset: { section: "citation" } },
    h("h3", { id: "citation-heading" }, "Cite and deposit"), body);
}
