"""The back office adds members the way the API does: by invitation, answering the same whether
or not an account with that name exists (issue 13.5's rule; the add-member form used to answer
"No such user." for an unknown name and add an existing one at once)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.context import tenant_context
from tenants.models import AuditEvent, Invitation, InvitationStatus, Membership
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBER_ADD = "/admin/tenants/membership/add/"
INVITATION_ADD = "/admin/tenants/invitation/add/"
INVITATIONS = "/admin/tenants/invitation/"


def _message_without(page: str, name: str) -> str:
    """The page's messages with the invitee's name and the digits (dates) blanked."""
    found = re.search(r'<ul class="messagelist">.*?</ul>', page, flags=re.S)
    assert found, "no message on the page"
    return re.sub(r"\d", "9", found.group(0).replace(name, "NAME"))


def _statements(queries) -> list[str]:
    """The request's SQL with literals blanked: the same work for a real and an unknown account."""
    return [re.sub(r"\d+", "?", re.sub(r"'[^']*'", "?", q["sql"])) for q in queries.captured_queries]


def test_existing_and_unknown_accounts_get_the_same_answer(login, staff_a):
    UserFactory(username="real-person", email="real@example.com")
    owner = login(staff_a.owner)
    owner.get(INVITATION_ADD)
    answers, work = {}, {}
    for name in ("real-person", "ghost-person", "real@example.com", "ghost@example.com"):
        with CaptureQueriesContext(connection) as queries:
            response = owner.post(INVITATION_ADD, {"invitee": name, "role": "accountant"})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == INVITATIONS
        work[name] = _statements(queries)
        page = owner.get(response["Location"]).content.decode()
        assert "No such user" not in page
        assert f"Invitation for {name} as Accountant" in page
        answers[name] = _message_without(page, name)
    assert answers["real-person"] == answers["ghost-person"]
    assert answers["real@example.com"] == answers["ghost@example.com"]
    assert work["real-person"] == work["ghost-person"]
    assert work["real@example.com"] == work["ghost@example.com"]
    with tenant_context(staff_a.tenant.id):
        # Nobody became a member by being invited; four pending invitations, audited by the service.
        assert not Membership.objects.filter(user__username="real-person").exists()
        assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 4
        assert AuditEvent.objects.filter(action="invitation.created").count() == 4
        assert not AuditEvent.objects.filter(action="invitation.added").exists()


def test_the_old_add_member_page_leads_to_the_invitation_and_adds_nobody(login, staff_a):
    UserFactory(username="newcomer")
    owner = login(staff_a.owner)
    for method in ("get", "post"):
        response = getattr(owner, method)(MEMBER_ADD, {"username": "newcomer", "role": "viewer"})
        assert response.status_code == 302
        assert response["Location"] == INVITATION_ADD
    with tenant_context(staff_a.tenant.id):
        assert not Membership.objects.filter(user__username="newcomer").exists()
        assert not Invitation.objects.exists()
    members = owner.get("/admin/tenants/membership/").content.decode()
    assert f'href="{INVITATION_ADD}"' in members and "Invite a member" in members


def test_refusals_are_shown_on_the_form_and_write_nothing(login, staff_a):
    owner = login(staff_a.owner)
    response = owner.post(INVITATION_ADD, {"invitee": "no spaces please", "role": "viewer"})
    assert response.status_code == 200
    assert "Not a username or an e-mail address." in response.content.decode()
    # A member (the owner can see them in the members list) and a second pending invitation: 409s.
    response = owner.post(INVITATION_ADD, {"invitee": staff_a.accountant.username, "role": "viewer"})
    assert "is already a member of this tenant" in response.content.decode()
    assert owner.post(INVITATION_ADD, {"invitee": "carol@example.com", "role": "viewer"}).status_code == 302
    response = owner.post(INVITATION_ADD, {"invitee": "CAROL@example.com", "role": "viewer"})
    assert "already pending" in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        assert list(Invitation.objects.values_list("invitee", flat=True)) == ["carol@example.com"]


def test_owners_list_and_revoke_invitations(login, staff_a, staff_b):
    owner = login(staff_a.owner)
    for name in ("carol", "dave@example.com"):
        owner.post(INVITATION_ADD, {"invitee": name, "role": "viewer"})
    with tenant_context(staff_b.tenant.id):
        from tenants.services import invitation_create

        invitation_create(invitee="someone-of-b", role="viewer", invited_by=staff_b.owner)
    page = owner.get(INVITATIONS).content.decode()
    assert "carol" in page and "dave@example.com" in page and "someone-of-b" not in page
    with tenant_context(staff_a.tenant.id):
        carol = Invitation.objects.get(invitee="carol")
    response = owner.post(
        INVITATIONS, {"action": "revoke", "_selected_action": [str(carol.pk)]}, follow=True
    )
    assert "Revoked 1 invitation" in response.content.decode()
    # Revoking it again changes nothing and says so.
    response = owner.post(
        INVITATIONS, {"action": "revoke", "_selected_action": [str(carol.pk)]}, follow=True
    )
    assert "Revoked 0 invitations" in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        carol.refresh_from_db()
        assert carol.status == InvitationStatus.REVOKED and carol.decided_by_id == staff_a.owner.pk
        assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
    assert "dave@example.com" in owner.get(f"{INVITATIONS}?effective_status=pending").content.decode()
    assert "carol" not in owner.get(f"{INVITATIONS}?effective_status=pending").content.decode()
    assert "carol" in owner.get(f"{INVITATIONS}?effective_status=revoked").content.decode()
    assert owner.get(f"{INVITATIONS}{carol.pk}/change/").status_code == 200
    assert owner.get(f"{INVITATIONS}?effective_status=bogus").status_code == 400


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_owners_see_and_send_invitations(login, staff_a, role):
    client = login(getattr(staff_a, role))
    assert client.get(INVITATIONS).status_code == 403
    assert client.post(INVITATION_ADD, {"invitee": "carol", "role": "owner"}).status_code == 403
    assert client.get(MEMBER_ADD).status_code == 403
    with tenant_context(staff_a.tenant.id):
        assert not Invitation.objects.exists()
