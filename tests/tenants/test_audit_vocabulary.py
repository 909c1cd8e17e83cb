"""One audit vocabulary (tenants.audit.AuditAction) with a source per event, whatever the interface.

The same change made through REST, GraphQL, the back office or a command is recorded once, by
the service, with the same action and the same before/after; only ``source`` tells them apart.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from invoices.models import Invoice
from reconciliation.models import Match
from reconciliation.services.match_audit import AUTO_CONFIRMED_AUDIT_SQL, MATCH_AUDITED, match_audit_state
from tenants.audit import AuditAction, AuditSource, audit_record, audit_source, current_audit_source
from tenants.context import tenant_context
from tenants.models import ApiToken, AuditEvent, Membership, Role, TenantSettings
from tenants.services import api_token_create, invitation_accept, invitation_create
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile
from tests.tenants.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db

INVOICE_STATE_KEYS = {
    "number",
    "vendor_id",
    "kind",
    "amount",
    "currency",
    "description",
    "issue_date",
    "due_date",
    "structured_reference",
    "status",
    "discount_percent",
    "discount_days",
    "net_days",
}


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def graphql(client, world, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables})
    response = client.post(f"{base(world)}/graphql", data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    payload = response.json()
    assert "errors" not in payload, payload
    return payload["data"]


def admin_client(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def events_of(world, object_id) -> list[AuditEvent]:
    with tenant_context(world.tenant.id):
        return list(AuditEvent.objects.filter(object_id=object_id).order_by("created_at", "id"))


def only_event(world, object_id) -> AuditEvent:
    (event,) = events_of(world, object_id)  # exactly one event per change
    return event


def invoice_id(world, number: str) -> uuid.UUID:
    with tenant_context(world.tenant.id):
        return Invoice.objects.get(number=number).pk


# --- the vocabulary --------------------------------------------------------------------------------


def test_an_action_outside_the_vocabulary_is_refused_and_nothing_is_written(world_a):
    with tenant_context(world_a.tenant.id):
        for action in ("invoice.changed", "invoice.updated", "seed.created"):  # raw strings, even a member's
            with pytest.raises(ValueError, match="not an AuditAction"):
                audit_record(actor=None, action=action, object_id=uuid.uuid4())  # type: ignore[arg-type]
        assert not AuditEvent.objects.filter(action__in=["invoice.changed", "seed.created"]).exists()
        event = audit_record(actor=None, action=AuditAction.INVOICE_UPDATED, object_id=uuid.uuid4())
    assert (event.action, event.object_type, event.source) == ("invoice.updated", "invoice", "system")


def _app_modules() -> list[Path]:
    root = Path(settings.BASE_DIR)
    skip = {".venv", "tests", "migrations", "bench", "devtools", "node_modules"}
    return [p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts)]


def test_every_action_the_code_records_is_a_member_of_the_vocabulary():
    """Every ``audit_record``/``audit_records`` call in the app code names its action as an
    ``AuditAction`` member (or passes one along in a variable), never as a string; and only
    ``tenants.audit`` builds ``AuditEvent`` rows."""
    members = set(AuditAction.__members__)
    seen: set[str] = set()
    for path in _app_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "AuditEvent" or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in {"create", "bulk_create"}
                and "AuditEvent" in ast.unparse(node.func.value)
            ):
                assert path.name == "audit.py" and path.parent.name == "tenants", (
                    f"{path}: writes AuditEvent rows"
                )
            if name not in {"audit_record", "audit_records"}:
                continue
            (action,) = [keyword.value for keyword in node.keywords if keyword.arg == "action"]
            assert not isinstance(action, ast.Constant), f"{path}:{node.lineno}: action as a string"
            if isinstance(action, ast.Attribute):
                assert ast.unparse(action.value) == "AuditAction", f"{path}:{node.lineno}"
                assert action.attr in members, f"{path}:{node.lineno}: {action.attr} is not an AuditAction"
                seen.add(action.attr)
    assert len(seen) > 10  # not vacuous: the services' calls were found


def test_the_run_writer_sql_is_generated_from_the_vocabulary_and_the_match_state():
    connection.ensure_connection()
    rendered = {
        key: value.as_string(connection.connection) for key, value in AUTO_CONFIRMED_AUDIT_SQL.items()
    }
    assert rendered["auto_confirmed_action"] == f"'{AuditAction.MATCH_AUTO_CONFIRMED.value}'"
    assert rendered["auto_confirmed_object_type"] == "'match'"
    for key in ("auto_confirmed_before", "auto_confirmed_after"):
        assert [f"'{name}'" in rendered[key] for name in MATCH_AUDITED] == [True] * len(MATCH_AUDITED)


def test_the_source_is_ambient_and_an_inner_entry_wins_for_its_block():
    assert current_audit_source() == AuditSource.SYSTEM
    with audit_source(AuditSource.API):
        with audit_source(AuditSource.GRAPHQL):
            assert current_audit_source() == AuditSource.GRAPHQL
        assert current_audit_source() == AuditSource.API
    assert current_audit_source() == AuditSource.SYSTEM


# --- the same change through every interface ---------------------------------------------------------


def test_an_invoice_created_through_each_interface_reads_the_same(world_a, api_client_for, client, tmp_path):
    api = api_client_for(world_a.accountant)
    response = api.post(
        f"{base(world_a)}/invoices",
        {"number": "INV-API", "amount": "150.00", "currency": "USD", "description": "Consulting"},
        format="json",
    )
    assert response.status_code == 201, response.content
    graphql(
        api,
        world_a,
        "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { id } }",
        {"input": {"number": "INV-GQL", "amount": "150.00", "currency": "USD", "description": "Consulting"}},
    )
    admin = admin_client(client, world_a.accountant)
    response = admin.post(
        "/admin/invoices/invoice/add/",
        {
            "number": "INV-ADM",
            "kind": "receivable",
            "amount": "150.00",
            "currency": "USD",
            "description": "Consulting",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    export = tmp_path / "invoices.csv"
    export.write_text("Invoice Number,Amount,Currency,Description\nINV-CMD,150.00,USD,Consulting\n")
    call_command("import_invoices", str(export), "--tenant", str(world_a.tenant.id), stdout=StringIO())

    expected = {
        "INV-API": (AuditSource.API, world_a.accountant.pk),
        "INV-GQL": (AuditSource.GRAPHQL, world_a.accountant.pk),
        "INV-ADM": (AuditSource.ADMIN, world_a.accountant.pk),
        "INV-CMD": (AuditSource.COMMAND, None),
    }
    for number, (source, actor_id) in expected.items():
        event = only_event(world_a, invoice_id(world_a, number))
        assert (event.action, event.object_type, event.source, event.actor_id) == (
            "invoice.created",
            "invoice",
            source,
            actor_id,
        ), number
        assert event.before is None
        assert set(event.after) == INVOICE_STATE_KEYS, number
        assert (event.after["number"], event.after["amount"], event.after["description"]) == (
            number,
            "150.00",
            "Consulting",
        )


def test_an_invoice_updated_through_the_api_and_the_back_office_is_one_event_each(
    world_a, api_client_for, client
):
    """The admin used to write a second event of its own (``invoice.changed`` with Django's
    change message) beside the service's; now the service's is the only one."""
    through_api = make_invoice(world_a.tenant, amount="150.00", number="INV-1", description="Old")
    through_admin = make_invoice(world_a.tenant, amount="150.00", number="INV-2", description="Old")
    response = api_client_for(world_a.accountant).patch(
        f"{base(world_a)}/invoices/{through_api.pk}", {"description": "New"}, format="json"
    )
    assert response.status_code == 200, response.content
    admin = admin_client(client, world_a.accountant)
    url = f"/admin/invoices/invoice/{through_admin.pk}/change/"
    form = admin.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if not form.fields[name].disabled}
    data["description"] = "New"
    assert admin.post(url, data).status_code == 302

    by_api, by_admin = only_event(world_a, through_api.pk), only_event(world_a, through_admin.pk)
    for event, source in ((by_api, "api"), (by_admin, "admin")):
        assert (event.action, event.before, event.after, event.source) == (
            "invoice.updated",
            {"description": "Old"},
            {"description": "New"},
            source,
        )


def test_voiding_in_the_back_office_is_the_services_event(world_a, api_client_for, client):
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-V")
    admin = admin_client(client, world_a.accountant)
    response = admin.post(
        "/admin/invoices/invoice/", {"action": "void_invoices", "_selected_action": [str(invoice.pk)]}
    )
    assert response.status_code == 302
    event = only_event(world_a, invoice.pk)
    assert (event.action, event.before, event.after, event.source) == (
        "invoice.voided",
        {"status": "open"},
        {"status": "void"},
        "admin",
    )


def _three_proposals(world) -> list[uuid.UUID]:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    for k in (1, 2, 3):
        make_invoice(world.tenant, amount=f"1{k}0.00", number=f"INV-M{k}")
        make_transaction(
            world.tenant,
            amount=f"1{k}0.00",
            description=f"Payment INV-M{k}",
            booking_date=dt.date(2024, 3, 20),
        )
    result = reconcile(world.tenant.id, actor=world.accountant, source="api")
    assert len(result.proposals) == 3
    return [proposal.match_id for proposal in result.proposals]


def test_a_match_confirmed_through_each_interface_reads_the_same(world_a, api_client_for, client):
    by_api, by_graphql, by_admin = _three_proposals(world_a)
    api = api_client_for(world_a.accountant)
    assert api.post(f"{base(world_a)}/matches/{by_api}/confirm").status_code == 200
    graphql(api, world_a, "mutation($id: UUID!) { confirmMatch(id: $id) { id } }", {"id": str(by_graphql)})
    admin = admin_client(client, world_a.accountant)
    response = admin.post(
        "/admin/reconciliation/match/", {"action": "confirm_matches", "_selected_action": [str(by_admin)]}
    )
    assert response.status_code == 302

    for match_id, source in ((by_api, "api"), (by_graphql, "graphql"), (by_admin, "admin")):
        with tenant_context(world_a.tenant.id):
            match = Match.objects.get(pk=match_id)
        event = only_event(world_a, match_id)
        assert (event.action, event.source, event.actor_id) == (
            "match.confirmed",
            source,
            world_a.accountant.pk,
        )
        assert event.after == match_audit_state(match)
        assert event.before == {"status": "proposed", "auto": False, "confidence": str(match.confidence)}


def _auto_confirmable(world) -> Invoice:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold="0.95")
    vendor = make_vendor(world.tenant, iban="DE89370400440532013000")
    invoice = make_invoice(world.tenant, amount="150.00", number="INV-AUTO", vendor=vendor)
    make_transaction(
        world.tenant,
        amount="150.00",
        description="Payment INV-AUTO Acme Supplies",
        counterparty_name="ACME SUPPLIES",
        counterparty_account="DE89370400440532013000",
    )
    return invoice


def _auto_confirmed_event(world) -> tuple[AuditEvent, Match]:
    with tenant_context(world.tenant.id):
        (event,) = AuditEvent.objects.filter(object_type="match")
        return event, Match.objects.get(pk=event.object_id)


@pytest.mark.parametrize("way", ["command", "job"])
def test_a_runs_auto_confirmation_has_the_person_s_shape_and_its_source(way, world_a, api_client_for):
    """Written in bulk by the run's SQL, read like ``match_audit_state``; a run by the command
    says ``command``, one run as a job (the API's runs are jobs) says ``job``."""
    _auto_confirmable(world_a)
    if way == "command":
        call_command("reconcile", "--tenant", str(world_a.tenant.id), stdout=StringIO())
    else:
        response = api_client_for(world_a.accountant).post(f"{base(world_a)}/reconcile", {}, format="json")
        assert response.status_code == 200, response.content
    event, match = _auto_confirmed_event(world_a)
    assert (event.action, event.source, event.actor_id) == ("match.auto_confirmed", way, None)
    assert event.after == match_audit_state(match) == {**event.before, "status": "confirmed", "auto": True}
    assert event.before == {"status": "proposed", "auto": False, "confidence": str(match.confidence)}


# --- members and tokens ------------------------------------------------------------------------------


def test_membership_changes_are_audited_in_the_tenant(world_a, api_client_for, client, django_user_model):
    with tenant_context(world_a.tenant.id):
        (founded,) = AuditEvent.objects.filter(
            action="membership.created", after__username=world_a.owner.username
        )
    assert founded.after == {"user_id": world_a.owner.pk, "username": world_a.owner.username, "role": "owner"}

    newcomer = django_user_model.objects.create_user("newcomer")
    with tenant_context(world_a.tenant.id):
        invitation = invitation_create(invitee="newcomer", role=Role.VIEWER, invited_by=world_a.owner)
    invitation_accept(invitation_id=invitation.pk, user=newcomer)
    with tenant_context(world_a.tenant.id):
        membership = Membership.objects.get(tenant=world_a.tenant, user=newcomer)
        accepted = AuditEvent.objects.get(action="invitation.accepted", object_id=invitation.pk)
    joined = only_event(world_a, membership.pk)
    assert (accepted.actor_id, joined.actor_id) == (newcomer.pk, newcomer.pk)
    assert (joined.action, joined.before, joined.after) == (
        "membership.created",
        None,
        {"user_id": newcomer.pk, "username": "newcomer", "role": "viewer"},
    )

    # The role changes on the tenant's platform page (superusers), through the service.
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-only")
    _change_role_on_the_tenant_page(client, root, world_a, newcomer)
    events = events_of(world_a, membership.pk)
    assert [(e.action, e.source, e.actor_id) for e in events] == [
        ("membership.created", "system", newcomer.pk),
        ("membership.updated", "admin", root.pk),
    ]
    assert (events[1].before, events[1].after) == (
        {"username": "newcomer", "role": "viewer"},
        {"username": "newcomer", "role": "accountant"},
    )

    # Removed by an owner through the API.
    owner = api_client_for(world_a.owner)
    assert owner.delete(f"{base(world_a)}/members/{newcomer.pk}").status_code == 204
    removed = events_of(world_a, membership.pk)[-1]
    assert (removed.action, removed.source, removed.actor_id, removed.after) == (
        "membership.deleted",
        "api",
        world_a.owner.pk,
        None,
    )
    assert removed.before == {"user_id": newcomer.pk, "username": "newcomer", "role": "accountant"}
    # The last owner stays (refused, nothing recorded).
    with tenant_context(world_a.tenant.id):
        before = AuditEvent.objects.count()
    assert_problem(owner.delete(f"{base(world_a)}/members/{world_a.owner.pk}"), 409)
    with tenant_context(world_a.tenant.id):
        assert AuditEvent.objects.count() == before


def _change_role_on_the_tenant_page(client, root, world, newcomer) -> None:
    admin = admin_client(client, root)
    url = f"/admin/tenants/tenant/{world.tenant.pk}/change/"
    page = admin.get(url)
    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    data = {f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()}
    data["name"] = world.tenant.name
    for index, form in enumerate(formset.forms):
        row = form.instance
        data[f"{formset.prefix}-{index}-id"] = str(row.pk)
        data[f"{formset.prefix}-{index}-tenant"] = str(world.tenant.pk)
        data[f"{formset.prefix}-{index}-user"] = str(row.user_id)
        data[f"{formset.prefix}-{index}-role"] = Role.ACCOUNTANT if row.user_id == newcomer.pk else row.role
    response = admin.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]


def test_tokens_are_audited_in_every_tenant_of_their_user_without_the_secret(world_a, world_b, client):
    """A token acts for every tenant its user is a member of: each of them records it."""
    both = UserFactory(username="both")
    add_member(world_a.tenant, both, Role.ACCOUNTANT)
    add_member(world_b.tenant, both, Role.VIEWER)
    admin = admin_client(client, both)
    response = admin.post("/admin/tenants/apitoken/add/", {"name": "erp sync"})
    assert response.status_code == 302
    token = ApiToken.objects.get(user=both, name="erp sync")
    response = admin.post(
        "/admin/tenants/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    out = StringIO()
    call_command("create_api_token", "both", "--name", "cli token", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    by_command = ApiToken.objects.get(user=both, name="cli token")

    for world in (world_a, world_b):
        created, revoked = events_of(world, token.pk)
        assert (created.action, created.object_type, created.source, created.actor_id) == (
            "api_token.created",
            "api_token",
            "admin",
            both.pk,
        )
        assert created.after == {"name": "erp sync", "username": "both", "revoked_at": None}
        assert (revoked.action, revoked.source, revoked.before) == (
            "api_token.revoked",
            "admin",
            {"revoked_at": None},
        )
        assert revoked.after["revoked_at"] is not None
        (made,) = events_of(world, by_command.pk)
        assert (made.action, made.source, made.actor_id) == ("api_token.created", "command", None)
        with tenant_context(world.tenant.id):
            texts = [
                json.dumps([e.before, e.after]) for e in AuditEvent.objects.filter(object_type="api_token")
            ]
        assert not [t for t in texts if raw in t or raw[:10] in t or token.prefix in t]  # never the secret
    # Not in a tenant the user is no member of.
    outsider = UserFactory(username="outsider")
    lone, _raw = api_token_create(user=outsider, name="lonely")
    for world in (world_a, world_b):
        assert events_of(world, lone.pk) == []


def test_the_back_office_audit_list_shows_and_filters_by_source(world_a, api_client_for, client):
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-S")
    api_client_for(world_a.accountant).patch(
        f"{base(world_a)}/invoices/{invoice.pk}", {"description": "By API"}, format="json"
    )
    admin = admin_client(client, world_a.owner)
    page = admin.get("/admin/tenants/auditevent/", {"source__exact": "api"})
    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    assert shown and {event.source for event in shown} == {"api"}
    assert "REST API" in page.content.decode()  # the column and the filter name it
    assert (
        list(admin.get("/admin/tenants/auditevent/", {"source__exact": "graphql"}).context["cl"].result_list)
        == []
    )


def test_the_last_owner_is_not_demoted_and_nothing_is_recorded(world_a):
    from common.errors import Conflict
    from tenants.services import membership_role_change

    with tenant_context(world_a.tenant.id):
        before = AuditEvent.objects.count()
        with pytest.raises(Conflict, match="cannot be demoted"):
            membership_role_change(
                tenant_id=world_a.tenant.id, user_id=world_a.owner.pk, role=Role.VIEWER, actor=world_a.owner
            )
        assert Membership.objects.get(tenant=world_a.tenant, user=world_a.owner).role == Role.OWNER
        assert AuditEvent.objects.count() == before
