-- Tenants. Every wallet belongs to one tenant, the tenant of the token that created it; the
-- wallets that existed before go to 'default'. A transfer belongs to the tenant of its wallets and
-- never crosses tenants: the foreign keys below hold that, so reading a transfer's tenant is
-- reading its wallets'. Request ids become unique per tenant, not globally: one tenant's request
-- id must never collide with another's (the answer would name the other's wallet or transfer).

ALTER TABLE wallets
  ADD COLUMN tenant text NOT NULL DEFAULT 'default',
  ADD CONSTRAINT wallets_tenant_name CHECK (tenant ~ '^[a-z0-9._-]{1,64}$'),
  DROP CONSTRAINT wallets_request_id_key,
  ADD CONSTRAINT wallets_tenant_request_id_key UNIQUE (tenant, request_id),
  -- What the transfers' foreign keys reference: a wallet together with its tenant.
  ADD CONSTRAINT wallets_id_tenant_key UNIQUE (id, tenant);

ALTER TABLE transfers
  ADD COLUMN tenant text NOT NULL DEFAULT 'default',
  ADD CONSTRAINT transfers_tenant_name CHECK (tenant ~ '^[a-z0-9._-]{1,64}$'),
  DROP CONSTRAINT transfers_request_id_key,
  ADD CONSTRAINT transfers_tenant_request_id_key UNIQUE (tenant, request_id),
  -- The same names as before, now also matching the tenant: a transfer's wallets are its tenant's.
  DROP CONSTRAINT transfers_from_wallet_fkey,
  ADD CONSTRAINT transfers_from_wallet_fkey FOREIGN KEY (from_wallet_id, tenant)
    REFERENCES wallets (id, tenant),
  DROP CONSTRAINT transfers_to_wallet_fkey,
  ADD CONSTRAINT transfers_to_wallet_fkey FOREIGN KEY (to_wallet_id, tenant)
    REFERENCES wallets (id, tenant);
