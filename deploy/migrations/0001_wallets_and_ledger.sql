-- Wallets, the ledger of transfers, and one posting per wallet touched by a transfer.
-- Every constraint is named: the Postgres adapter maps violations by name to domain errors
-- (adapters/postgres/errors.cc).

-- Raised by the wallet save statement when no row had the expected version (optimistic check).
CREATE DOMAIN wallet_version_check AS boolean
  CONSTRAINT wallet_version_matches CHECK (VALUE);

CREATE TABLE wallets (
  id          uuid        NOT NULL,
  request_id  text        NOT NULL,
  currency    text        NOT NULL,
  balance     bigint      NOT NULL,
  version     bigint      NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  CONSTRAINT wallets_pkey PRIMARY KEY (id),
  CONSTRAINT wallets_request_id_key UNIQUE (request_id),
  CONSTRAINT wallets_request_id_length CHECK (length(request_id) BETWEEN 1 AND 128),
  CONSTRAINT wallets_currency_code CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT wallets_balance_nonnegative CHECK (balance >= 0),
  CONSTRAINT wallets_version_nonnegative CHECK (version >= 0)
);

CREATE TABLE transfers (
  id              uuid        NOT NULL,
  request_id      text        NOT NULL,
  kind            text        NOT NULL,
  from_wallet_id  uuid,
  to_wallet_id    uuid,
  amount          bigint      NOT NULL,
  currency        text        NOT NULL,
  created_at      timestamptz NOT NULL,
  CONSTRAINT transfers_pkey PRIMARY KEY (id),
  -- The idempotency guard: one transfer per request id, whatever races to insert it.
  CONSTRAINT transfers_request_id_key UNIQUE (request_id),
  CONSTRAINT transfers_request_id_length CHECK (length(request_id) BETWEEN 1 AND 128),
  CONSTRAINT transfers_amount_positive CHECK (amount > 0),
  CONSTRAINT transfers_currency_code CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT transfers_kind_shape CHECK (
       (kind = 'transfer'   AND from_wallet_id IS NOT NULL AND to_wallet_id IS NOT NULL)
    OR (kind = 'deposit'    AND from_wallet_id IS NULL     AND to_wallet_id IS NOT NULL)
    OR (kind = 'withdrawal' AND from_wallet_id IS NOT NULL AND to_wallet_id IS NULL)),
  CONSTRAINT transfers_distinct_wallets CHECK (from_wallet_id <> to_wallet_id),
  CONSTRAINT transfers_from_wallet_fkey FOREIGN KEY (from_wallet_id) REFERENCES wallets (id),
  CONSTRAINT transfers_to_wallet_fkey FOREIGN KEY (to_wallet_id) REFERENCES wallets (id)
);

-- A wallet's history is a chain: exactly one posting per wallet version, so two writers that
-- both read version n can never both record version n + 1.
CREATE TABLE entries (
  wallet_id      uuid   NOT NULL,
  version        bigint NOT NULL,
  transfer_id    uuid   NOT NULL,
  amount         bigint NOT NULL,
  balance_after  bigint NOT NULL,
  CONSTRAINT entries_pkey PRIMARY KEY (wallet_id, version),
  CONSTRAINT entries_version_positive CHECK (version > 0),
  CONSTRAINT entries_amount_nonzero CHECK (amount <> 0),
  CONSTRAINT entries_balance_after_nonnegative CHECK (balance_after >= 0),
  CONSTRAINT entries_wallet_fkey FOREIGN KEY (wallet_id) REFERENCES wallets (id),
  CONSTRAINT entries_transfer_fkey FOREIGN KEY (transfer_id) REFERENCES transfers (id)
);

CREATE INDEX entries_transfer_idx ON entries (transfer_id);
