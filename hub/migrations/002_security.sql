-- Issue 8: the hub's signing key (Ed25519, created on first start) and hashed, revocable API tokens.
CREATE TABLE IF NOT EXISTS hub_key (
    id          integer PRIMARY KEY CHECK (id = 1),   -- one key per hub
    private_pem text NOT NULL,
    kid         text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_token (
    id          text PRIMARY KEY,                     -- public handle, shown to admins
    token_hash  text NOT NULL UNIQUE,                 -- sha256 hex of the secret; the secret is never stored
    login       text NOT NULL,
    roles       text[] NOT NULL DEFAULT '{}',         -- e.g. {staff:i03, admin}
    scope       text NOT NULL DEFAULT 'read',         -- read | admin
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);
