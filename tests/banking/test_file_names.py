"""An uploaded statement's file name is stored whole or refused, never cut.

``ImportBatch.file_name`` holds 255 characters; the import cut longer names there
(``file_name[:255]``), and Django itself cuts an uploaded file's name to 255 before any view
sees it. Now a longer name is a 400 naming ``file`` (the back office: a message, see
tests/admin/test_pages.py), and nothing is imported.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from banking.models import BankTransaction, ImportBatch
from banking.services import statement_import
from tenants import limits
from tenants.context import tenant_context
from tenants.errors import InvalidInput
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

CONTENT = (Path(__file__).parent / "fixtures" / "small.csv").read_bytes()
LONGEST = "m" * (limits.FILE_NAME - 4) + ".csv"  # exactly the bound
TOO_LONG = "m" * limits.FILE_NAME + ".csv"


def written(world) -> tuple[int, int]:
    with tenant_context(world.tenant.id):
        return ImportBatch.objects.count(), BankTransaction.objects.count()


def upload(client, world, name: str, key: str):
    handle = io.BytesIO(CONTENT)
    handle.name = name
    return client.post(
        f"/v1/tenants/{world.tenant.id}/bank-transactions/import-file",
        {"file": handle},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_api_refuses_a_name_over_the_bound_naming_file(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    body = assert_problem(upload(client, world_a, TOO_LONG, "long-1"), 400)
    assert list(body["errors"]) == ["file"]
    assert str(limits.FILE_NAME) in body["errors"]["file"][0]
    assert written(world_a) == (0, 0)
    # The key was not consumed: the same request with a shorter name goes through.
    response = upload(client, world_a, LONGEST, "long-1")
    assert response.status_code == 201, response.content
    with tenant_context(world_a.tenant.id):
        assert ImportBatch.objects.get().file_name == LONGEST  # whole, not cut


def test_the_service_refuses_it_too(world_a):
    with tenant_context(world_a.tenant.id), pytest.raises(InvalidInput) as refused:
        statement_import(stream=io.BytesIO(CONTENT), file_name=TOO_LONG)
    assert list(refused.value.errors) == ["file"]
    assert written(world_a) == (0, 0)

