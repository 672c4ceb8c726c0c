// Starts GraphiQL with the explorer plugin from the files served beside the page: no CDN, no inline
// script (so the page's Content-Security-Policy can forbid both). Queries go to the page's own URL.
// `?q=...&variables=...` in the address opens a query, and the address follows the editor (not `query`:
// a GET with `query` is a GraphQL request, GraphQL over HTTP).
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var endpoint = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  var WELCOME = [
    "# GraphiQL, served by this endpoint (it works offline).",
    "# Docs: the book icon on the left; Explorer: the folder icon builds a query by clicking.",
    "# Run: Ctrl-Enter. Signed in? Put {\"Authorization\": \"Bearer <token>\"} under Headers.",
    "",
    "{ __typename }",
    "",
  ].join("\n");

  function remember(key, value) {
    if (value) {
      params.set(key, value);
    } else {
      params.delete(key);
    }
    var search = params.toString();
    history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
  }

  function App() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: WELCOME,
      query: params.get("q") || undefined,
      variables: params.get("variables") || undefined,
      onEditQuery: function (text) { remember("q", text); },
      onEditVariables: function (text) { remember("variables", text); },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false, // a bearer token stays in this tab, not in localStorage
      inputValueDeprecation: true,
      schemaDescription: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
