"""POST bank-transactions/import: idempotency (every rule), both body forms, validation, tenancy."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from banking.models import BankTransaction, ImportBatch
from tenants.context import tenant_context
from tenants.models import IdempotencyKey
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

SEED_ITEMS = [
    {"amount": 150.00, "date": "2023-10-25T10:00:00Z", "description": "Payment INV-1001", "currency": "USD"},
    {
        "amount": "-20.50",
        "date": "2023-10-26",
        "description": "Bank fee",
        "currency": "USD",
        "external_id": "FEE-1",
    },
]


def url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/bank-transactions/import"


def post(client, world, body, key: str | None = "key-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(url(world), data=payload, content_type="application/json", **headers, **extra)


def counts(world) -> tuple[int, int, int]:
    with tenant_context(world.tenant.id):
        return (
            BankTransaction.objects.count(),
            ImportBatch.objects.count(),
            IdempotencyKey.objects.count(),
        )


def json_with_exact_numbers(items) -> str:
    """JSON text where 150.00 is written as 150.00 (json.dumps would write 150.0)."""
    text = json.dumps({"transactions": items})
    return text.replace("150.0,", "150.00,")


class TestImport:
    def test_first_request_imports_and_returns_ids(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        response = post(client, world_a, json_with_exact_numbers(SEED_ITEMS))
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["imported"] == 2
        assert body["duplicates"] == 0
        assert len(body["transactions"]) == 2
        assert "Idempotent-Replayed" not in response
        with tenant_context(world_a.tenant.id):
            first = BankTransaction.objects.get(pk=body["transactions"][0])
            assert first.amount == Decimal("150.00")
            assert str(first.booking_date) == "2023-10-25"
            assert first.account.identifier == "default"
            assert str(first.import_batch_id) == body["batch_id"]
            assert BankTransaction.objects.get(external_id="FEE-1").amount == Decimal("-20.50")

    def test_stringified_transactions_array_is_accepted(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        body = {"transactions": json.dumps(SEED_ITEMS)}
        response = post(client, world_a, body)
        assert response.status_code == 201, response.content
        assert response.json()["imported"] == 2

    def test_replay_returns_stored_response_and_writes_nothing(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        first = post(client, world_a, {"transactions": SEED_ITEMS})
        before = counts(world_a)
        again = post(client, world_a, {"transactions": SEED_ITEMS})
        assert again.status_code == first.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert counts(world_a) == before

    def test_same_key_other_payload_is_422_and_writes_nothing(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        post(client, world_a, {"transactions": SEED_ITEMS})
        before = counts(world_a)
        other = [dict(SEED_ITEMS[0], amount="151.00")]
        assert_problem(post(client, world_a, {"transactions": other}), 422)
        assert counts(world_a) == before

    def test_keys_are_scoped_per_tenant(self, world_a, world_b, api_client_for):
        assert (
            post(api_client_for(world_a.accountant), world_a, {"transactions": SEED_ITEMS}).status_code == 201
        )
        response = post(api_client_for(world_b.accountant), world_b, {"transactions": SEED_ITEMS[:1]})
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response

    @pytest.mark.parametrize("key", [None, "", "   ", "k" * 256])
    def test_missing_empty_or_long_key_is_400(self, world_a, api_client_for, key):
        response = post(api_client_for(world_a.accountant), world_a, {"transactions": SEED_ITEMS}, key=key)
        assert_problem(response, 400)
        assert counts(world_a)[:2] == (0, 0)

    def test_key_of_255_characters_is_fine(self, world_a, api_client_for):
        response = post(
            api_client_for(world_a.accountant), world_a, {"transactions": SEED_ITEMS}, key="k" * 255
        )
        assert response.status_code == 201

    def test_failed_validation_does_not_consume_the_key(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        bad = [dict(SEED_ITEMS[0], amount="abc")]
        assert_problem(post(client, world_a, {"transactions": bad}), 400)
        assert counts(world_a) == (0, 0, 0)
        response = post(client, world_a, {"transactions": SEED_ITEMS})
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response

    def test_expired_key_can_be_reused_after_purge(self, world_a, api_client_for, settings):
        from django.core.management import call_command

        client = api_client_for(world_a.accountant)
        post(client, world_a, {"transactions": SEED_ITEMS})
        with tenant_context(world_a.tenant.id):
            IdempotencyKey.objects.update(expires_at="2000-01-01T00:00:00Z")
        call_command("purge_idempotency_keys")
        assert counts(world_a)[2] == 0
        other = [dict(SEED_ITEMS[0], external_id="NEW-1")]
        response = post(client, world_a, {"transactions": other})
        assert response.status_code == 201
        assert response.json()["imported"] == 1


class TestDuplicates:
    def test_same_rows_under_a_new_key_are_counted_as_duplicates(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        post(client, world_a, {"transactions": SEED_ITEMS}, key="first")
        response = post(client, world_a, {"transactions": SEED_ITEMS}, key="second")
        assert response.status_code == 201
        assert response.json()["imported"] == 0
        assert response.json()["duplicates"] == 2
        assert response.json()["transactions"] == []
        assert counts(world_a)[0] == 2

    def test_identical_rows_on_one_day_are_distinct_by_position(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        twice = [SEED_ITEMS[0], SEED_ITEMS[0]]
        assert post(client, world_a, {"transactions": twice}, key="a").json()["imported"] == 2
        thrice = [SEED_ITEMS[0], SEED_ITEMS[0], SEED_ITEMS[0]]
        response = post(client, world_a, {"transactions": thrice}, key="b").json()
        assert (response["imported"], response["duplicates"]) == (1, 2)

    def test_description_whitespace_and_case_do_not_defeat_the_fingerprint(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        post(client, world_a, {"transactions": SEED_ITEMS[:1]}, key="a")
        variant = [dict(SEED_ITEMS[0], description="  payment   inv-1001 ")]
        assert post(client, world_a, {"transactions": variant}, key="b").json()["duplicates"] == 1


class TestValidation:
    @pytest.mark.parametrize(
        ("item", "field"),
        [
            ({"amount": "150.005", "date": "2023-10-25", "currency": "USD"}, "amount"),
            ({"amount": "1.5", "date": "2023-10-25", "currency": "JPY"}, "amount"),
            ({"amount": "10", "date": "2023-10-25", "currency": "XYZ"}, "currency"),
            ({"amount": "10", "date": "25/10/2023", "currency": "USD"}, "date"),
            ({"amount": "10", "date": "2023-02-30", "currency": "USD"}, "date"),
            ({"amount": "10", "currency": "USD"}, "date"),
            ({"date": "2023-10-25", "currency": "USD"}, "amount"),
            ({"amount": True, "date": "2023-10-25", "currency": "USD"}, "amount"),
            ({"amount": "1e30", "date": "2023-10-25", "currency": "USD"}, "amount"),
            ({"amount": "10", "date": "2023-10-25", "description": 5}, "description"),
        ],
    )
    def test_bad_items_are_400_with_field_errors_and_write_nothing(
        self, world_a, api_client_for, item, field
    ):
        body = assert_problem(
            post(api_client_for(world_a.accountant), world_a, {"transactions": [item]}), 400
        )
        assert any(field in key or field in " ".join(msgs) for key, msgs in body["errors"].items()), body
        assert counts(world_a) == (0, 0, 0)

    def test_float_with_too_many_decimals_in_json_number_is_refused(self, world_a, api_client_for):
        text = '{"transactions": [{"amount": 150.005, "date": "2023-10-25", "currency": "USD"}]}'
        assert_problem(post(api_client_for(world_a.accountant), world_a, text), 400)

    @pytest.mark.parametrize(
        "raw",
        [
            '{"transactions": [',
            "[]",
            '"x"',
            '{"transactions": "[1, 2"}',
            '{"transactions": []}',
            '{"transactions": 5}',
            '{"transactions": [1]}',
            '{"transactions": [{"amount": NaN}]}',
        ],
    )
    def test_malformed_bodies_are_400(self, world_a, api_client_for, raw):
        assert_problem(post(api_client_for(world_a.accountant), world_a, raw), 400)
        assert counts(world_a) == (0, 0, 0)

    def test_body_over_the_limit_is_413(self, world_a, api_client_for, settings):
        settings.REQUEST_BODY_MAX_BYTES = 2000
        items = [dict(SEED_ITEMS[0], description="x" * 100)] * 30
        assert_problem(post(api_client_for(world_a.accountant), world_a, {"transactions": items}), 413)
        assert counts(world_a) == (0, 0, 0)

    def test_overlong_account_is_400(self, world_a, api_client_for):
        body = {"transactions": SEED_ITEMS, "account": "A" * 65}
        assert_problem(post(api_client_for(world_a.accountant), world_a, body), 400)
        assert counts(world_a) == (0, 0, 0)

    def test_viewer_cannot_import(self, world_a, api_client_for):
        assert_problem(post(api_client_for(world_a.viewer), world_a, {"transactions": SEED_ITEMS}), 403)


class TestTenancy:
    def test_tenant_b_cannot_import_into_or_read_tenant_a(self, world_a, world_b, api_client_for):
        a_client = api_client_for(world_a.accountant)
        created = post(a_client, world_a, {"transactions": SEED_ITEMS}).json()
        b_client = api_client_for(world_b.owner)
        assert_problem(post(b_client, world_a, {"transactions": SEED_ITEMS}), 404)
        transaction_id = created["transactions"][0]
        assert_problem(
            b_client.get(f"/v1/tenants/{world_a.tenant.id}/bank-transactions/{transaction_id}"), 404
        )
        assert_problem(
            b_client.get(f"/v1/tenants/{world_b.tenant.id}/bank-transactions/{transaction_id}"), 404
        )
        listing = b_client.get(f"/v1/tenants/{world_b.tenant.id}/bank-transactions").json()
        assert listing["results"] == []
        assert_problem(
            b_client.get(f"/v1/tenants/{world_a.tenant.id}/import-batches/{created['batch_id']}"), 404
        )
        assert counts(world_a)[0] == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_make_exactly_one_batch(world_a):
    """20 threads, one key: one batch, the others 409 (in flight) or a replay; no duplicate rows."""
    from tests.tenants.factories import bearer

    headers = bearer(world_a.accountant)
    items = [
        {"amount": f"{n}.00", "date": "2023-10-25", "description": f"row {n}", "currency": "USD"}
        for n in range(1, 1501)
    ]
    payload = json.dumps({"transactions": items})
    barrier = threading.Barrier(20)
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                url(world_a),
                data=payload,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="concurrent-key",
                **headers,
            )
            with lock:
                results.append((response.status_code, response.has_header("Idempotent-Replayed")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert len(results) == 20
    assert set(statuses) <= {201, 409}, statuses
    fresh = [r for r in results if r == (201, False)]
    assert len(fresh) == 1, results
    assert counts(world_a) == (1500, 1, 1)
    with tenant_context(world_a.tenant.id):
        assert BankTransaction.objects.values("dedup_key").distinct().count() == 1500


def test_lists_filter_and_paginate(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    items = [
        {"amount": f"{n}.00", "date": f"2023-10-{n:02d}", "description": f"Payment {n}", "currency": "USD"}
        for n in range(1, 21)
    ]
    post(client, world_a, {"transactions": items})
    base = f"/v1/tenants/{world_a.tenant.id}/bank-transactions"
    page = client.get(base, {"page_size": 5}).json()
    assert len(page["results"]) == 5
    second = client.get(page["next"]).json()
    assert not {r["id"] for r in page["results"]} & {r["id"] for r in second["results"]}
    filtered = client.get(
        base, {"min_amount": "10", "max_amount": "12.00", "booked_after": "2023-10-11"}
    ).json()
    assert sorted(r["amount"] for r in filtered["results"]) == ["11.00", "12.00"]
    assert [r["description"] for r in client.get(base, {"q": "payment 7"}).json()["results"]] == ["Payment 7"]
    for bad in (
        {"min_amount": "abc"},
        {"booked_after": "yesterday"},
        {"status": "nope"},
        {"account_id": "1"},
    ):
        assert_problem(client.get(base, bad), 400)
    uuid.UUID(page["results"][0]["id"])


def test_each_listed_transaction_and_batch_is_byte_for_byte_its_detail(world_a, api_client_for):
    """Lists render rows without DRF's serializer; details still use it: the same JSON (a batch's
    detail then adds the statements it stored)."""
    client = api_client_for(world_a.accountant)
    items = [
        {"amount": "-42.10", "date": "2023-10-01", "description": "Card ✓", "currency": "USD"},
        {
            "amount": "1500",
            "date": "2023-10-02",
            "currency": "JPY",
            "external_id": "B-1",
            "value_date": "2023-10-03",
        },
    ]
    post(client, world_a, {"transactions": items})
    base = f"/v1/tenants/{world_a.tenant.id}"
    for listing, detail in (("bank-transactions", "bank-transactions"), ("import-batches", "import-batches")):
        results = client.get(f"{base}/{listing}").json()["results"]
        assert results
        for item in results:
            body = client.get(f"{base}/{detail}/{item['id']}").content
            row = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
            if listing == "import-batches":
                row = row[:-1] + b',"statements":[]}'
            assert row == body
