"""Invitations: owners invite a username or e-mail address; nothing tells whether it exists.

Before invitations, ``POST members`` answered 201 with the user's numeric id for an existing
username and 400 "No user named ..." otherwise: any owner (and anyone can become one by
creating a tenant) could enumerate the platform's accounts.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants import services
from tenants.context import tenant_context
from tenants.models import AuditEvent, Invitation, InvitationStatus, Membership, Role
from tests.helpers import assert_problem
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db

VARIABLE_FIELDS = {"id", "invitee", "created_at", "expires_at"}


def members_url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/members"


def invitations_url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/invitations"


def normalised_sql(queries) -> list[str]:
    """The request's statements about the invitation, literals and savepoint names blanked.

    Left out: the caller's token and rate-limit bookkeeping, which depend on the clock, not on
    the invitee.
    """
    statements = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if "tenants_apiratewindow" in sql or sql.startswith('UPDATE "tenants_apitoken"'):
            continue
        statements.append(re.sub(r"\d+", "?", re.sub(r"'[^']*'", "?", sql)))
    return statements


class TestNoEnumeration:
    @pytest.mark.parametrize(
        ("url", "field", "status"), [(members_url, "username", 202), (invitations_url, "invitee", 201)]
    )
    def test_existing_and_unknown_users_get_the_same_answer_and_no_user_id(
        self, world_a, api_client_for, url, field, status
    ):
        existing = UserFactory(username="real-person", email="real@example.com")
        client = api_client_for(world_a.owner)
        client.get(url(world_a))  # the token's first use stamps last_used_at: not part of the comparison
        answers = {}
        work = {}
        for name in ("real-person", "ghost-person", "real@example.com", "ghost@example.com"):
            with CaptureQueriesContext(connection) as queries:
                response = client.post(url(world_a), {field: name, "role": "accountant"}, format="json")
            assert response.status_code == status, response.content
            body = response.json()
            assert str(existing.pk) not in {str(value) for value in body.values()}
            assert "user_id" not in body
            answers[name] = {key: value for key, value in body.items() if key not in VARIABLE_FIELDS}
            assert body["invitee"] == name
            work[name] = normalised_sql(queries)
        assert answers["real-person"] == answers["ghost-person"] == answers["real@example.com"]
        assert answers["real-person"] == answers["ghost@example.com"]
        # Same statements for a real and an unknown account: the time taken does not tell either.
        assert work["real-person"] == work["ghost-person"]
        assert work["real@example.com"] == work["ghost@example.com"]
        # No statement looks the invitee up among the accounts (the caller's own token lookup,
        # which joins its user, and membership checks aside).
        assert not any(
            "auth_user" in sql and "tenants_membership" not in sql and "tenants_apitoken" not in sql
            for sql in work["real-person"]
        )
        # Nobody became a member by being invited.
        assert not Membership.objects.filter(user=existing).exists()

    def test_invalid_identifiers_and_roles_are_400_naming_the_field(self, world_a, api_client_for):
        client = api_client_for(world_a.owner)
        for invitee in ("", "   ", "no spaces please", "x" * 255, "bad\x00char"):
            body = assert_problem(
                client.post(invitations_url(world_a), {"invitee": invitee, "role": "viewer"}, format="json"),
                400,
            )
            assert "invitee" in body["errors"], invitee
        body = assert_problem(
            client.post(members_url(world_a), {"username": "x" * 151, "role": "viewer"}, format="json"), 400
        )
        assert "username" in body["errors"]
        body = assert_problem(
            client.post(invitations_url(world_a), {"invitee": "alice", "role": "god"}, format="json"), 400
        )
        assert "role" in body["errors"]
        with tenant_context(world_a.tenant.id):
            assert not Invitation.objects.exists()

    def test_an_e_mail_domain_is_lower_cased_and_spaces_trimmed(self, world_a, api_client_for):
        client = api_client_for(world_a.owner)
        response = client.post(
            invitations_url(world_a), {"invitee": "  Bob@Example.COM ", "role": "viewer"}, format="json"
        )
        assert response.status_code == 201
        assert response.json()["invitee"] == "Bob@example.com"


class TestInvitationFlow:
    def test_invitee_sees_accepts_and_becomes_a_member(self, world_a, world_b, api_client_for):
        carol = UserFactory(username="carol", email="Carol@Example.com")
        owner = api_client_for(world_a.owner)
        created = owner.post(
            invitations_url(world_a), {"invitee": "carol@example.com", "role": "accountant"}, format="json"
        ).json()
        carol_client = api_client_for(carol)
        assert_problem(carol_client.get(members_url(world_a)), 404)  # not a member yet
        inbox = carol_client.get("/v1/invitations").json()
        assert [item["id"] for item in inbox["results"]] == [created["id"]]
        item = inbox["results"][0]
        assert item["tenant_id"] == str(world_a.tenant.id)
        assert item["tenant_name"] == "Acme Corp"
        assert (item["role"], item["status"], item["invited_by"]) == ("accountant", "pending", "acme-owner")
        accepted = carol_client.post(f"/v1/invitations/{created['id']}/accept")
        assert accepted.status_code == 200, accepted.content
        assert accepted.json()["status"] == "accepted"
        members = {m["username"]: m["role"] for m in carol_client.get(members_url(world_a)).json()}
        assert members["carol"] == "accountant"
        # Used once: gone from the inbox, a second accept is 404.
        assert carol_client.get("/v1/invitations").json()["results"] == []
        assert_problem(carol_client.post(f"/v1/invitations/{created['id']}/accept"), 404)
        listed = owner.get(invitations_url(world_a)).json()["results"]
        assert [(i["invitee"], i["status"]) for i in listed] == [("carol@example.com", "accepted")]
        with tenant_context(world_a.tenant.id):
            actions = list(
                AuditEvent.objects.filter(object_type="invitation")
                .order_by("created_at")
                .values_list("action", "actor__username")
            )
        assert actions == [("invitation.created", "acme-owner"), ("invitation.accepted", "carol")]
        # Tenant B saw none of it.
        with tenant_context(world_b.tenant.id):
            assert not Invitation.objects.exists()
            assert not AuditEvent.objects.filter(object_type="invitation").exists()

    def test_invitation_by_username_matches_the_username_exactly(self, world_a, api_client_for):
        dave = UserFactory(username="dave", email="")
        other = UserFactory(username="Dave2", email="dave@example.com")
        owner = api_client_for(world_a.owner)
        created = owner.post(
            invitations_url(world_a), {"invitee": "dave", "role": "viewer"}, format="json"
        ).json()
        assert api_client_for(other).get("/v1/invitations").json()["results"] == []
        assert_problem(api_client_for(other).post(f"/v1/invitations/{created['id']}/accept"), 404)
        assert api_client_for(UserFactory(username="DAVE")).get("/v1/invitations").json()["results"] == []
        assert [i["id"] for i in api_client_for(dave).get("/v1/invitations").json()["results"]] == [
            created["id"]
        ]

    def test_decline_and_revoke(self, world_a, api_client_for):
        erin = UserFactory(username="erin")
        owner = api_client_for(world_a.owner)
        first = owner.post(
            invitations_url(world_a), {"invitee": "erin", "role": "viewer"}, format="json"
        ).json()
        erin_client = api_client_for(erin)
        declined = erin_client.post(f"/v1/invitations/{first['id']}/decline")
        assert declined.json()["status"] == "declined"
        assert_problem(erin_client.post(f"/v1/invitations/{first['id']}/accept"), 404)
        second = owner.post(
            invitations_url(world_a), {"invitee": "erin", "role": "owner"}, format="json"
        ).json()
        assert owner.delete(f"{invitations_url(world_a)}/{second['id']}").status_code == 204
        assert_problem(owner.delete(f"{invitations_url(world_a)}/{second['id']}"), 409)
        assert_problem(owner.delete(f"{invitations_url(world_a)}/{uuid.uuid4()}"), 404)
        assert_problem(erin_client.post(f"/v1/invitations/{second['id']}/accept"), 404)
        assert not Membership.objects.filter(user=erin).exists()
        statuses = {i["id"]: i["status"] for i in owner.get(invitations_url(world_a)).json()["results"]}
        assert statuses == {first["id"]: "declined", second["id"]: "revoked"}
        pending = owner.get(invitations_url(world_a), {"status": "pending"}).json()["results"]
        assert pending == []

    def test_expired_invitations_cannot_be_accepted_and_can_be_renewed(self, world_a, api_client_for):
        frank = UserFactory(username="frank")
        owner = api_client_for(world_a.owner)
        created = owner.post(
            invitations_url(world_a), {"invitee": "frank", "role": "viewer"}, format="json"
        ).json()
        Invitation.objects.filter(pk=created["id"]).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        assert api_client_for(frank).get("/v1/invitations").json()["results"] == []
        assert_problem(api_client_for(frank).post(f"/v1/invitations/{created['id']}/accept"), 404)
        expired = owner.get(invitations_url(world_a), {"status": "expired"}).json()["results"]
        assert [i["id"] for i in expired] == [created["id"]]
        assert_problem(owner.delete(f"{invitations_url(world_a)}/{created['id']}"), 409)
        renewed = owner.post(invitations_url(world_a), {"invitee": "frank", "role": "viewer"}, format="json")
        assert renewed.status_code == 201, renewed.content
        assert api_client_for(frank).post(f"/v1/invitations/{renewed.json()['id']}/accept").status_code == 200

    def test_conflicts_only_for_what_the_owner_already_sees(self, world_a, api_client_for, monkeypatch):
        owner = api_client_for(world_a.owner)
        # A member's username (the members list shows it anyway).
        body = assert_problem(
            owner.post(invitations_url(world_a), {"invitee": "acme-viewer", "role": "owner"}, format="json"),
            409,
        )
        assert "already a member" in body["detail"]
        # The same address twice while the first is pending (e-mail case does not matter).
        owner.post(invitations_url(world_a), {"invitee": "gina@example.com", "role": "viewer"}, format="json")
        assert_problem(
            owner.post(
                invitations_url(world_a), {"invitee": "GINA@example.com", "role": "viewer"}, format="json"
            ),
            409,
        )
        # The cap of pending invitations.
        monkeypatch.setattr(services, "MAX_PENDING_INVITATIONS", 2)
        assert (
            owner.post(
                invitations_url(world_a), {"invitee": "h1", "role": "viewer"}, format="json"
            ).status_code
            == 201
        )
        body = assert_problem(
            owner.post(invitations_url(world_a), {"invitee": "h2", "role": "viewer"}, format="json"), 409
        )
        assert "pending invitations" in body["detail"]

    def test_accepting_when_already_a_member_is_a_conflict_and_changes_nothing(self, world_a, api_client_for):
        viewer = world_a.viewer
        viewer.email = "viewer@example.com"
        viewer.save()
        owner = api_client_for(world_a.owner)
        created = owner.post(
            invitations_url(world_a), {"invitee": "viewer@example.com", "role": "owner"}, format="json"
        ).json()
        assert_problem(api_client_for(viewer).post(f"/v1/invitations/{created['id']}/accept"), 409)
        assert Membership.objects.get(tenant=world_a.tenant, user=viewer).role == Role.VIEWER
        assert Invitation.objects.get(pk=created["id"]).status == InvitationStatus.PENDING

    @pytest.mark.parametrize("role", ["viewer", "accountant"])
    def test_only_owners_see_and_manage_invitations(self, world_a, api_client_for, role):
        client = api_client_for(getattr(world_a, role))
        assert_problem(client.get(invitations_url(world_a)), 403)
        assert_problem(
            client.post(invitations_url(world_a), {"invitee": "x", "role": "viewer"}, format="json"), 403
        )
        assert_problem(
            client.post(members_url(world_a), {"username": "x", "role": "viewer"}, format="json"), 403
        )
        assert_problem(client.delete(f"{invitations_url(world_a)}/{uuid.uuid4()}"), 403)
