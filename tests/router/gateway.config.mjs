// Hive Gateway's configuration for tests/router/test_gateway_auth.py, and the example docs/router.md
// shows: forward the caller's own `Authorization` header to every subgraph (issue 20), so a site or LIMS
// started with --oidc-issuer decides what the user sees. Hive Gateway forwards no client header unless
// told to (`propagateHeaders.fromClientToSubgraphs`, @graphql-hive/gateway-runtime).
export const gatewayConfig = {
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      return { authorization: request.headers.get("authorization") };
    },
  },
};
