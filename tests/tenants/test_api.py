"""Tenants API: authentication, no existence oracle, roles, problem+json errors, schema."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tenants.context import runtime_role
from tenants.models import ApiToken, Membership, Role, Tenant
from tenants.services import api_token_revoke
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


class TestAuthentication:
    def test_no_token_is_401_with_www_authenticate(self, world_a):
        for path in (
            "/v1/tenants",
            f"/v1/tenants/{world_a.tenant.id}",
            f"/v1/tenants/{world_a.tenant.id}/members",
        ):
            response = APIClient().get(path)
            assert_problem(response, 401)
            assert response["WWW-Authenticate"].startswith("Bearer")

    def test_unknown_and_revoked_tokens_are_401(self, world_a, api_client_for):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer rk_not-a-real-token")
        assert_problem(client.get("/v1/tenants"), 401)
        client = api_client_for(world_a.owner)
        assert client.get("/v1/tenants").status_code == 200
        for token in ApiToken.objects.filter(user=world_a.owner):
            api_token_revoke(token=token)
        assert_problem(client.get("/v1/tenants"), 401)
        assert_problem(client.get(f"/v1/tenants/{world_a.tenant.id}"), 401)

    def test_token_records_last_use_and_is_stored_hashed(self, world_a):
        client = APIClient()
        from tests.tenants.factories import bearer

        headers = bearer(world_a.owner, name="ci")
        raw = headers["HTTP_AUTHORIZATION"].split()[1]
        token = ApiToken.objects.get(user=world_a.owner, name="ci")
        assert token.last_used_at is None
        assert raw not in (token.token_hash, token.prefix) and token.token_hash != raw
        client.credentials(**headers)
        assert client.get("/v1/tenants").status_code == 200
        token.refresh_from_db()
        assert token.last_used_at is not None

    @pytest.mark.django_db(transaction=True)  # no outer test transaction: the request's own
    def test_a_tenant_read_costs_six_statements(self, world_a, api_client_for):
        """Caller lookup (token with its user, then the membership with its tenant), BEGIN, role +
        tenant GUC, the list, COMMIT. (Under a server add the per-request connection health
        check.) Two lookups, not one join: on Citus tokens and memberships live apart."""
        client = api_client_for(world_a.viewer)
        url = f"/v1/tenants/{world_a.tenant.id}/invoices"
        assert client.get(url).status_code == 200  # the first use also stamps last_used_at
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        statements = [" ".join(query["sql"].split()) for query in queries.captured_queries]
        assert len(statements) == 6, statements
        assert "tenants_apitoken" in statements[0] and "auth_user" in statements[0]
        assert "tenants_membership" in statements[1] and "tenants_tenant" in statements[1]
        assert statements[2] == "BEGIN"
        assert statements[3].startswith(f'SET LOCAL ROLE "{runtime_role()}"; ')
        assert "SET LOCAL app.tenant_id = " in statements[3]
        assert "invoices_invoice" in statements[4]
        assert statements[5] == "COMMIT"

    def test_caller_rows_are_loaded_like_the_orm_loads_them(self, world_a, api_client_for):
        response = api_client_for(world_a.accountant).get(f"/v1/tenants/{world_a.tenant.id}/invoices")
        assert response.status_code == 200
        request = response.wsgi_request
        user, token = request._bearer_authentication
        membership = request.membership
        pairs = [
            (token, ApiToken.objects.get(pk=token.pk)),
            (user, get_user_model().objects.get(pk=world_a.accountant.pk)),
            (membership, Membership.objects.get(tenant=world_a.tenant, user=world_a.accountant)),
            (request.tenant, Tenant.objects.get(pk=world_a.tenant.id)),
        ]
        for loaded, expected in pairs:
            for field in type(expected)._meta.concrete_fields:
                if field.attname == "last_used_at":
                    continue  # stamped by this very request after the read
                value = getattr(loaded, field.attname)
                assert value == getattr(expected, field.attname), field.attname
                assert type(value) is type(getattr(expected, field.attname)), field.attname
            assert loaded._state.adding is False and loaded._state.db == "default"
        assert membership.tenant is request.tenant and membership.user is user and token.user is user
        assert membership.role == Role.ACCOUNTANT

    def test_revocation_removal_and_deactivation_apply_to_the_next_request(self, world_a, api_client_for):
        """Nothing about the caller is cached between requests (same process, same connection)."""
        url = f"/v1/tenants/{world_a.tenant.id}/invoices"
        revoked, removed, deactivated = (
            api_client_for(user) for user in (world_a.owner, world_a.accountant, world_a.viewer)
        )
        for client in (revoked, removed, deactivated):
            assert client.get(url).status_code == 200
        for token in ApiToken.objects.filter(user=world_a.owner):
            api_token_revoke(token=token)
        Membership.objects.filter(tenant=world_a.tenant, user=world_a.accountant).delete()
        get_user_model().objects.filter(pk=world_a.viewer.pk).update(is_active=False)
        assert_problem(revoked.get(url), 401)
        assert_problem(removed.get(url), 404)
        assert_problem(deactivated.get(url), 401)

    def test_bad_token_is_401_before_any_tenant_lookup(self, world_a, world_b):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer rk_not-a-real-token")
        for tenant_id in (world_a.tenant.id, world_b.tenant.id, uuid.uuid4(), "not-a-uuid"):
            assert_problem(client.get(f"/v1/tenants/{tenant_id}/invoices"), 401)

    def test_writes_check_membership_after_the_rate_limiter_authenticated(
        self, world_a, world_b, api_client_for, settings
    ):
        """The rate limiter authenticates writes first; the membership check must still hold."""
        settings.WRITE_RATE_LIMIT_PER_MINUTE = 100
        url = f"/v1/tenants/{world_a.tenant.id}/invoices"
        body = {"amount": "10.00", "description": "x"}
        assert_problem(api_client_for(world_b.owner).post(url, body, format="json"), 404)
        accountant = api_client_for(world_a.accountant)
        with CaptureQueriesContext(connection) as queries:
            assert accountant.post(url, body, format="json").status_code == 201
        # The limiter's caller query already read the membership: no second lookup.
        reads = [query["sql"] for query in queries.captured_queries if "tenants_membership" in query["sql"]]
        assert len(reads) == 1 and "tenants_tenant" in reads[0]
        assert_problem(api_client_for(world_a.viewer).post(url, body, format="json"), 403)

    def test_health_and_docs_need_no_token(self):
        assert APIClient().get("/healthz").json() == {"status": "ok"}
        assert APIClient().get("/readyz").json()["status"] == "ready"
        assert APIClient().get("/v1/schema").status_code == 200
        assert APIClient().get("/v1/docs").status_code == 200


class TestTenants:
    def test_create_makes_caller_owner_and_list_shows_only_own(self, world_a, world_b, api_client_for):
        client = api_client_for(world_a.accountant)
        response = client.post("/v1/tenants", {"name": "Gamma GmbH"}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "name", "created_at"}
        uuid.UUID(body["id"])
        names = {t["name"] for t in client.get("/v1/tenants").json()}
        assert names == {"Acme Corp", "Gamma GmbH"}
        members = client.get(f"/v1/tenants/{body['id']}/members").json()
        assert members[0]["role"] == "owner"

    def test_other_tenant_missing_and_malformed_ids_are_indistinguishable_404(
        self, world_a, world_b, api_client_for
    ):
        client = api_client_for(world_a.owner)
        bodies = []
        for tenant_id in (world_b.tenant.id, uuid.uuid4(), "not-a-uuid", "1"):
            for suffix in ("", "/members"):
                body = assert_problem(client.get(f"/v1/tenants/{tenant_id}{suffix}"), 404)
                bodies.append((body["title"], body["detail"]))
        assert len(set(bodies)) == 1

    def test_malformed_json_and_wrong_types_are_400_problem(self, world_a, api_client_for):
        client = api_client_for(world_a.owner)
        response = client.post("/v1/tenants", data="{not json", content_type="application/json")
        assert_problem(response, 400)
        body = assert_problem(client.post("/v1/tenants", {"name": ["x"]}, format="json"), 400)
        assert "name" in body["errors"]
        assert_problem(client.post("/v1/tenants", {}, format="json"), 400)
        assert_problem(client.post("/v1/tenants", data="[1, 2]", content_type="application/json"), 400)

    def test_body_over_the_limit_is_413(self, world_a, api_client_for, settings):
        settings.REQUEST_BODY_MAX_BYTES = 1000
        response = api_client_for(world_a.owner).post("/v1/tenants", {"name": "x" * 2000}, format="json")
        assert_problem(response, 413)


class TestMembers:
    def test_owner_invites_the_invitee_accepts_and_the_owner_removes(self, world_a, api_client_for):
        """POST members invites (202, see test_invitations.py); the membership exists on acceptance."""
        from tests.tenants.factories import UserFactory

        newcomer = UserFactory(username="newcomer")
        client = api_client_for(world_a.owner)
        url = f"/v1/tenants/{world_a.tenant.id}/members"
        response = client.post(url, {"username": "newcomer", "role": "accountant"}, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["role"] == "accountant" and response.json()["status"] == "pending"
        assert_problem(client.post(url, {"username": "newcomer", "role": "viewer"}, format="json"), 409)
        assert_problem(client.post(url, {"username": "newcomer2", "role": "god"}, format="json"), 400)
        assert_problem(api_client_for(newcomer).get(url), 404)
        accepted = api_client_for(newcomer).post(f"/v1/invitations/{response.json()['id']}/accept")
        assert accepted.status_code == 200, accepted.content
        assert api_client_for(newcomer).get(url).status_code == 200
        assert_problem(client.post(url, {"username": "newcomer", "role": "viewer"}, format="json"), 409)
        assert client.delete(f"{url}/{newcomer.pk}").status_code == 204
        assert_problem(api_client_for(newcomer).get(url), 404)

    @pytest.mark.parametrize("role", ["viewer", "accountant"])
    def test_non_owners_cannot_manage_members(self, world_a, api_client_for, role):
        user = getattr(world_a, role)
        client = api_client_for(user)
        url = f"/v1/tenants/{world_a.tenant.id}/members"
        assert client.get(url).status_code == 200
        assert_problem(client.post(url, {"username": "alice", "role": "viewer"}, format="json"), 403)
        assert_problem(client.delete(f"{url}/{world_a.owner.pk}"), 403)

    def test_last_owner_cannot_be_removed(self, world_a, api_client_for):
        client = api_client_for(world_a.owner)
        assert_problem(client.delete(f"/v1/tenants/{world_a.tenant.id}/members/{world_a.owner.pk}"), 409)

    def test_members_of_another_tenant_are_invisible(self, world_a, world_b, api_client_for):
        client = api_client_for(world_a.owner)
        response = client.get(f"/v1/tenants/{world_a.tenant.id}/members")
        assert {m["username"] for m in response.json()} == {"acme-owner", "acme-accountant", "acme-viewer"}
        # Deleting tenant B's member through tenant A's URL finds nothing.
        assert_problem(client.delete(f"/v1/tenants/{world_a.tenant.id}/members/{world_b.viewer.pk}"), 404)


def test_openapi_schema_validates_and_declares_bearer_auth():
    response = APIClient().get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    bearer_scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer_scheme["type"], bearer_scheme["scheme"]) == ("http", "bearer")
    assert {"bearerAuth": []} in schema["paths"]["/v1/tenants"]["get"]["security"]
    assert "/v1/tenants" in schema["paths"]


def test_swagger_ui_is_served_offline():
    html = APIClient().get("/v1/docs").content.decode()
    assert "swagger-ui" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


def test_create_api_token_prints_token_on_last_line(capsys):
    call_command("create_api_token", "scripted", "--create-user")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/tenants").json() == []
