// Compose Federation v2 subgraphs with Apollo's composer (@apollo/composition, pinned in package.json).
// Input on stdin: JSON [{name, url, sdl}, ...]. Output on stdout: JSON {errors: [...], hints: [...],
// supergraph: "..." | null}. Exit 0 whether or not composition succeeded; the caller asserts.
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const services = JSON.parse(input).map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
const result = composeServices(services);
process.stdout.write(
  JSON.stringify({
    errors: (result.errors ?? []).map((e) => ({ code: e.extensions?.code ?? null, message: e.message })),
    hints: (result.hints ?? []).map((h) => ({ code: h.definition?.code ?? null, message: h.message })),
    supergraph: result.errors ? null : result.supergraphSdl,
  }),
);
