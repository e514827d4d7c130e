#!/usr/bin/env python3
"""Writes the seed corpus, tests/fuzz/corpus/<target>/, in the targets' input format
(tests/fuzz/fuzz_support.h): a field is a length byte and its bytes, an integer 8 bytes little-endian.
Run it after changing a target's format; the files it writes are the ones committed."""
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def F(s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 256
    return bytes([len(b)]) + b


def I(n):
    return n.to_bytes(8, "little", signed=True)


def token(wallet, version, spelling=None):
    plain = f"v1:{wallet}:{spelling if spelling is not None else version}".encode()
    return base64.urlsafe_b64encode(plain).rstrip(b"=")


A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
C = "00000000-0000-4000-8000-00000000000c"
D = "00000000-0000-4000-8000-00000000000d"  # The first wallet an input creates.
UNKNOWN = "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
T1 = "00000000-0000-4000-9000-000000000001"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

CREATE, DEPOSIT, WITHDRAW, TRANSFER, BALANCE, GET, LIST = range(7)

request_validation = {
    "create": bytes([0, CREATE]) + F("new-1") + F("EUR"),
    "create_replay": bytes([0, CREATE]) + F("open-a") + F("EUR"),
    "create_key_reused": bytes([0, CREATE]) + F("open-a") + F("USD"),
    "create_bad_currency": bytes([0, CREATE]) + F("new-1") + F("eu\xe9"),
    "create_unknown_currency": bytes([0, CREATE]) + F("new-1") + F("ABC"),
    "create_long_request_id": bytes([0, CREATE]) + F("r" * 129) + F("EUR"),
    "create_invalid_utf8": bytes([0, CREATE]) + F(b"r\xff\xc3") + F("EUR"),
    "deposit": bytes([0, DEPOSIT]) + F("d-1") + F(A) + I(100) + F("EUR"),
    "deposit_upper_case_id": bytes([0, DEPOSIT]) + F("d-1") + F(A.upper()) + I(100) + F("EUR"),
    "deposit_overflow": bytes([1, DEPOSIT]) + F("d-1") + F(B) + I(8) + F("EUR"),
    "deposit_last_version": bytes([4, DEPOSIT]) + F("d-1") + F(A) + I(1) + F("EUR"),
    "deposit_zero": bytes([0, DEPOSIT]) + F("d-1") + F(A) + I(0) + F("EUR"),
    "deposit_min": bytes([0, DEPOSIT]) + F("d-1") + F(A) + I(INT64_MIN) + F(""),
    "deposit_unknown_wallet": bytes([0, DEPOSIT]) + F("d-1") + F(UNKNOWN) + I(5) + F("EUR"),
    "withdraw": bytes([0, WITHDRAW]) + F("w-1") + F(A) + I(100) + F("EUR"),
    "withdraw_insufficient": bytes([0, WITHDRAW]) + F("w-1") + F(A) + I(INT64_MAX) + F("EUR"),
    "transfer": bytes([0, TRANSFER]) + F("t-1") + F(A) + F(B) + I(10) + F("EUR"),
    "transfer_same_wallet": bytes([0, TRANSFER]) + F("t-1") + F(A) + F(A.upper()) + I(10) + F("EUR"),
    "transfer_replay": bytes([0, TRANSFER]) + F("seen-2") + F(A) + F(B) + I(250) + F("EUR"),
    "transfer_key_reused": bytes([0, TRANSFER]) + F("seen-2") + F(A) + F(B) + I(251) + F("EUR"),
    "transfer_mismatch": bytes([0, TRANSFER]) + F("t-1") + F(A) + F(C) + I(10) + F("EUR"),
    "transfer_bad_id": bytes([0, TRANSFER]) + F("t-1") + F(A[:-1] + "g") + F(B) + I(1) + F("EUR"),
    "balance": bytes([0, BALANCE]) + F(A),
    "balance_unknown": bytes([0, BALANCE]) + F(UNKNOWN),
    "balance_bad": bytes([0, BALANCE]) + F("{" + A + "}"),
    "get_transfer": bytes([0, GET]) + F(T1),
    "get_transfer_unknown": bytes([0, GET]) + F(UNKNOWN),
    "list_pages": bytes([2, LIST]) + F(A) + I(2) + F(""),
    "list_token": bytes([2, LIST]) + F(A) + I(1) + F(token(A, 4)),
    "list_other_wallets_token": bytes([0, LIST]) + F(A) + I(1) + F(token(B, 2)),
    "list_forged_token_unknown_wallet": bytes([0, LIST]) + F(UNKNOWN) + I(10) + F(token(UNKNOWN, 5)),
    "list_negative_size": bytes([0, LIST]) + F(A) + I(-1) + F(""),
    "list_huge_size": bytes([0, LIST]) + F(A) + I(2**31 - 1) + F(""),
    "create_deposit_list": bytes([0, CREATE]) + F("new-1") + F("EUR")
    + bytes([DEPOSIT]) + F("d-1") + F(D) + I(7) + F("EUR")
    + bytes([DEPOSIT]) + F("d-1") + F(D) + I(7) + F("EUR")
    + bytes([LIST]) + F(D) + I(1) + F(""),
}

wallet_bytes = bytes(range(0xA0, 0xB0))
W = "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf"
OTHER = "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadae00"
page_token = {
    "valid": wallet_bytes + I(5) + token(W, 5),
    "large_version": wallet_bytes + I(INT64_MAX) + token(W, INT64_MAX),
    "other_wallet": wallet_bytes + I(5) + token(OTHER, 5),
    "padded": wallet_bytes + I(5) + base64.urlsafe_b64encode(f"v1:{W}:5".encode()),
    "plus_sign": wallet_bytes + I(5) + token(W, 5, "+5"),
    "space": wallet_bytes + I(5) + token(W, 5, " 5"),
    "leading_zero": wallet_bytes + I(5) + token(W, 5, "05"),
    "zero": wallet_bytes + I(0) + token(W, 0),
    "negative": wallet_bytes + I(-3) + token(W, -3),
    "standard_alphabet": wallet_bytes + I(5) + base64.b64encode(f"v1:{W}:5".encode()).rstrip(b"="),
    "upper_case_wallet": wallet_bytes + I(5) + token(W.upper(), 5),
    "not_base64": wallet_bytes + I(5) + b"!!!",
}

pg_errors = {}
cases = [
    ("40001", "", "could not serialize access due to concurrent update"),
    ("40P01", "", "deadlock detected"),
    ("23505", "wallets_tenant_request_id_key", 'duplicate key value violates unique constraint "wallets_tenant_request_id_key"'),
    ("23505", "transfers_tenant_request_id_key", "duplicate key"),
    ("23514", "wallet_version_matches", 'value for domain wallet_version_check violates check constraint "wallet_version_matches"'),
    ("23514", "wallets_balance_nonnegative", "new row violates check constraint"),
    ("23503", "transfers_to_wallet_fkey", "insert or update violates foreign key constraint"),
    ("23514", "entries_version_positive", "check"),
    ("23505", "wallets_pkey", "duplicate key"),
    ("57014", "", "canceling statement due to statement timeout"),
    ("55P03", "", "canceling statement due to lock timeout"),
    ("08006", "", "server closed the connection unexpectedly"),
    ("57P01", "", "terminating connection due to administrator command"),
    ("53300", "", "sorry, too many clients already"),
    ("25006", "", "cannot execute UPDATE in a read-only transaction"),
    ("", "", "server closed the connection unexpectedly"),
    ("XX000", "", "internal error"),
    ("22P02", "", 'invalid input syntax for type uuid: "caf\u00e9"'),
]
for i, (state, constraint, message) in enumerate(cases):
    body = F(state) + F(constraint) + F(message)
    pg_errors[f"direct_{i:02d}_{state or 'libpq'}"] = bytes([0]) + body
    pg_errors[f"wire_{i:02d}_{state or 'libpq'}"] = bytes([31]) + body
pg_errors["wire_no_message"] = bytes([1 | 2 | 4]) + F("40001") + F("") + F("")
pg_errors["wire_repeated_fields"] = bytes([31]) + F("40001") + F("") + F("m") + b"C" + F("08006") + b"D" + F("detail")
pg_errors["direct_nul_bytes"] = bytes([0]) + F(b"400\x0001") + F(b"wallets\x00") + F(b"\xff\xfe")

for target, seeds in [("fuzz_request_validation", request_validation),
                      ("fuzz_page_token", page_token), ("fuzz_pg_errors", pg_errors)]:
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
