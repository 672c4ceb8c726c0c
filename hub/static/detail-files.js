// The detail view's result files and crystal snapshots (issue 16): download links and images, through the
// hub's GET /files/{id}. Registers itself as a part of the detail view (detail.js DETAIL_PARTS).

import { token } from "./api.js";
import { DETAIL_PARTS } from "./detail.js";
import { bytes, DASH, h } from "./dom.js";
import { ErrorCode } from "./error_codes.js";

const FILE = "id name type importance mediaType url exists size";
const SNAPSHOT = "id position name mediaType url exists size";

/** The file at `url` as an object URL, fetched with the caller's token (a plain link would go anonymous). */
async function fetched(url) {
  const bearer = token();
  const response = await fetch(url, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  if (!response.ok) {
    let why = `HTTP ${response.status}`;
    try {
      const e = (await response.json()).errors[0];
      why = e.extensions && e.extensions.code === ErrorCode.FILE_MISSING ? "the file is no longer on the facility's disk" : e.message;
    } catch { /* not JSON: the status says it */ }
    throw new Error(why);
  }
  return URL.createObjectURL(await response.blob());
}

function fileLink(f) {
  const label = `${f.name}${f.type ? ` (${f.type})` : ""}`;
  if (!f.exists) return h("li", { class: "muted", dataset: { file: f.id } }, `${label}: not available at the facility`);
  const note = h("span", { class: "hint", role: "status" });
  const link = h("a", {
    href: f.url, download: f.name, dataset: { file: f.id },
    onclick: async (event) => {
      if (!token()) return; // anonymous: the plain link works
      event.preventDefault();
      note.textContent = " downloading…";
      try {
        const object = await fetched(f.url);
        const a = h("a", { href: object, download: f.name, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(object), 10000);
        note.textContent = "";
      } catch (err) {
        note.textContent = ` could not download: ${err.message}`;
      }
    },
  }, label);
  return h("li", {}, link, ` · ${bytes(f.size)}`, note);
}

function snapshot(s) {
  const caption = `Snapshot ${s.position}: ${s.name}`;
  if (!s.exists) return h("figure", { class: "snapshot muted" }, h("figcaption", {}, `${caption} (not available)`));
  const img = h("img", { alt: caption, width: 320, dataset: { snapshot: s.id } });
  if (token()) fetched(s.url).then((u) => { img.src = u; }, (err) => { img.alt = `${caption}: ${err.message}`; });
  else img.src = s.url;
  return h("figure", { class: "snapshot" }, img, h("figcaption", {}, caption, " · ", bytes(s.size)));
}

function render(caps, n, section) {
  if (!caps.hasField("ProcessingResult", "files") && !caps.hasField("DataCollection", "snapshots")) return null;
  const results = (n.processing || []).filter((r) => (r.files || []).length || (r.messages || []).length);
  const snaps = n.snapshots || [];
  return section("Files and snapshots", "files-heading",
    snaps.length ? h("div", { class: "snapshots" }, snaps.map(snapshot)) : h("p", { class: "muted" }, "No crystal snapshot recorded."),
    results.length ? results.map((r) => h("div", { class: "result-files", dataset: { result: r.id } },
      h("h4", {}, `${r.program || "unknown program"} · ${r.status}`),
      (r.messages || []).map((m) => h("p", { class: m.severity === "ERROR" ? "error" : "warn" },
        `${m.severity}: ${m.message || DASH}${m.description ? ` (${m.description})` : ""}`)),
      h("ul", { class: "files" }, (r.files || []).map(fileLink))))
      : h("p", { class: "muted" }, "No result files recorded."));
}

DETAIL_PARTS.push({
  select: { processing: { files: FILE, messages: "severity message description time" }, snapshots: SNAPSHOT },
  render,
});
