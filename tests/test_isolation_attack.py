"""Isolation attack suite: a member of tenant B attacks tenant A through every route.

Routes are discovered from the URL conf (and cross-checked with the OpenAPI schema), so a new
endpoint is attacked without editing this file; a route that is neither attacked nor exempted
with a reason fails the suite. Expected answers: 404 (or 403/400 where the request never
reaches data), never A's data, and A's rows byte-for-byte unchanged afterwards. At the SQL
level, every tenant table read by the runtime role with no tenant set is empty and refuses
writes (see tests/tenants/test_rls.py for the full matrix as owner and superuser).
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tenants.checks import tenant_models
from tenants.context import tenant_context
from tests.seed import seed_every_tenant_table
from tests.tenants.factories import bearer

pytestmark = pytest.mark.django_db

# Routes with no tenant data behind them, or attacked by a dedicated test below.
EXEMPT = {
    "healthz": "process liveness, no data",
    "readyz": "database readiness, no data",
    "v1/schema": "public API description, no tenant data",
    "v1/docs": "public API documentation page, no tenant data",
    "v1/tenants": "lists and creates the caller's own tenants; attacked in test_tenant_list_shows_only_own",
    "v1/tenants/<uuid:tenant_id>/graphql": "attacked operation by operation in test_graphql_attack",
    "v1/invitations": "the caller's own received invitations; attacked in test_received_invitations_attack",
    "v1/invitations/<uuid:invitation_id>/accept": "attacked in test_received_invitations_attack",
    "v1/invitations/<uuid:invitation_id>/decline": "attacked in test_received_invitations_attack",
}
ADMIN_PREFIX = "admin/"

PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def all_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(set(walk(get_resolver().url_patterns)))


def a_snapshot(world) -> dict[str, str]:
    """A checksum of every row of every tenant table of tenant A."""
    digest = {}
    with tenant_context(world.tenant.id), connection.cursor() as cursor:
        for model in tenant_models():
            table = model._meta.db_table
            rows_digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            cursor.execute(f"SELECT count(*), {rows_digest} FROM {table} t")  # noqa: S608
            count, checksum = cursor.fetchone()
            digest[table] = f"{count}:{checksum}"
    return digest


@pytest.fixture
def attack(world_a, world_b):
    """Both tenants fully seeded; B's owner (the strongest member) is the attacker."""
    world_a.seeded = seed_every_tenant_table(world_a.tenant)
    world_b.seeded = seed_every_tenant_table(world_b.tenant)
    client = APIClient()
    client.credentials(**bearer(world_b.owner))
    return world_a, world_b, client


def a_ids(world_a) -> dict[str, str]:
    seeded = world_a.seeded
    return {
        "invoice_id": str(seeded["invoice"].id),
        "vendor_id": str(seeded["vendor"].id),
        "transaction_id": str(seeded["transaction"].id),
        "match_id": str(seeded["match"].id),
        "batch_id": str(seeded["batch"].id),
        "run_id": str(seeded["run"].id),
        "account_id": str(seeded["account"].id),
        "import_batch_id": str(seeded["batch"].id),
        "user_id": str(world_a.viewer.pk),
        "invitation_id": str(seeded["invitation"].id),
        "statement_id": str(seeded["statement"].id),
        "transfer_id": str(seeded["transfer"].id),
        "job_id": str(seeded["job"].id),
        "evidence_id": str(seeded["learned_evidence"].id),
        "advice_id": str(seeded["advice"].id),
        "webhook_id": str(seeded["webhook"].id),
        "event_id": str(seeded["event"].id),
    }


def fill(route: str, tenant_id: str, ids: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        name = match["name"]
        if name == "tenant_id":
            return tenant_id
        if name not in ids:
            raise AssertionError(f"{route}: no attack value for path parameter {name!r}; add one")
        return ids[name]

    return "/" + PATH_PARAMETER.sub(substitute, route)


def api_routes() -> list[str]:
    return [r for r in all_routes() if not r.startswith(ADMIN_PREFIX) and r not in EXEMPT]


def test_every_route_is_attacked_or_exempted():
    schema_paths = {
        p.lstrip("/") for p in APIClient().get("/v1/schema", HTTP_ACCEPT="application/json").json()["paths"]
    }
    for route in all_routes():
        if route.startswith(ADMIN_PREFIX) or route in EXEMPT:
            continue
        assert "<uuid:tenant_id>" in route, f"{route} is neither attacked (tenant route) nor exempted"
        # REST tenant routes are all in the OpenAPI schema, with the same shape.
        templated = PATH_PARAMETER.sub(lambda m: "{" + m["name"] + "}", route)
        assert templated in schema_paths, f"{route} missing from the OpenAPI schema"


METHODS = ("get", "post", "put", "patch", "delete")


def test_a_tenant_id_in_the_path_is_404_for_every_method(attack):
    world_a, _world_b, client = attack
    before = a_snapshot(world_a)
    for route in api_routes():
        url = fill(route, str(world_a.tenant.id), a_ids(world_a))
        for method in METHODS:
            response = getattr(client, method)(
                url, {"amount": "1.00", "name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
            )
            assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"
            assert response["Content-Type"].startswith("application/problem+json")
    assert a_snapshot(world_a) == before


# Bodies of the object-id attack: each write endpoint refuses keys it does not take (400, before
# any lookup), so the attack sends several, and one of them must reach the data (404).
ATTACK_BODIES = ({"status": "void"}, {"name": "x"}, {})


def _refused_for_unknown_fields_only(response, body: dict) -> bool:
    if response.status_code != 400:
        return False
    errors = response.json().get("errors", {})
    return bool(errors) and set(errors) <= set(body) and all("Unknown field" in m[0] for m in errors.values())


def test_a_object_ids_under_b_tenant_are_not_found(attack):
    world_a, world_b, client = attack
    before = a_snapshot(world_a)
    leaked = set(a_ids(world_a).values())
    for route in api_routes():
        if route.count("<") < 2:
            continue  # no object id in the path: see the query-string and body attacks
        url = fill(route, str(world_b.tenant.id), a_ids(world_a))
        for method in METHODS:
            reached_data = False
            for attack_body in ATTACK_BODIES:
                response = getattr(client, method)(url, attack_body, format="json")
                if not _refused_for_unknown_fields_only(response, attack_body):
                    assert response.status_code in (404, 405), (
                        f"{method.upper()} {url} {attack_body} -> {response.status_code}"
                    )
                    reached_data = True
                body = response.json() if response.content else {}
                body.pop("instance", None)  # the request's own path, echoed back
                assert not leaked & set(re.findall(r"[0-9a-f-]{36}", json.dumps(body))), url
            assert reached_data, f"{method.upper()} {url}: no attack body got past validation"
    assert a_snapshot(world_a) == before


def test_a_ids_in_query_strings_find_nothing(attack):
    world_a, world_b, client = attack
    ids = a_ids(world_a)
    base = f"/v1/tenants/{world_b.tenant.id}"
    for path, params in [
        ("invoices", {"vendor_id": ids["vendor_id"]}),
        ("invoices", {"q": "INV-1001"}),  # A and B both have INV-1001: only B's may come back
        ("bank-transactions", {"account_id": ids["account_id"]}),
        ("bank-transactions", {"import_batch_id": ids["batch_id"]}),
        ("matches", {"invoice_id": ids["invoice_id"]}),
        ("matches", {"transaction_id": ids["transaction_id"]}),
        ("matches", {"run_id": ids["run_id"]}),
        ("vendors", {"q": "Acme"}),
        ("statements", {"account_id": ids["account_id"]}),
        ("statements", {"import_batch_id": ids["batch_id"]}),
        ("internal-transfers", {"account_id": ids["account_id"]}),
        ("internal-transfers", {"transaction_id": ids["transaction_id"]}),
    ]:
        response = client.get(f"{base}/{path}", params)
        assert response.status_code == 200, (path, params, response.content)
        body = response.content.decode()
        assert not set(ids.values()) & set(re.findall(r"[0-9a-f-]{36}", body)), (path, params)
        assert "Acme Corp" not in body
    explain = client.get(
        f"{base}/reconcile/explain",
        {"invoice_id": ids["invoice_id"], "transaction_id": ids["transaction_id"]},
    )
    assert explain.status_code == 404


def test_a_ids_in_request_bodies_are_refused(attack):
    world_a, world_b, client = attack
    before = a_snapshot(world_a)
    ids = a_ids(world_a)
    base = f"/v1/tenants/{world_b.tenant.id}"
    response = client.post(
        f"{base}/invoices", {"amount": "10.00", "vendor_id": ids["vendor_id"]}, format="json"
    )
    assert response.status_code == 400
    b_invoice = world_b.seeded["invoice"].id
    response = client.patch(f"{base}/invoices/{b_invoice}", {"vendor_id": ids["vendor_id"]}, format="json")
    assert response.status_code == 400
    # An import naming A's account identifier creates (or uses) B's own account of that name.
    response = client.post(
        f"{base}/bank-transactions/import",
        {
            "transactions": [{"amount": "1.00", "date": "2024-01-01"}],
            "account": world_a.seeded["account"].identifier,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="attack-import",
    )
    assert response.status_code == 201
    assert a_snapshot(world_a) == before


def test_tenant_list_shows_only_own(attack):
    world_a, _world_b, client = attack
    names = {tenant["name"] for tenant in client.get("/v1/tenants").json()}
    assert world_a.tenant.name not in names


def test_received_invitations_attack(attack):
    """B's owner, to whom A's invitation is not addressed, can neither see nor answer it."""
    world_a, world_b, client = attack
    before = a_snapshot(world_a)
    invitation = world_a.seeded["invitation"]
    listing = client.get("/v1/invitations")
    assert listing.status_code == 200
    assert str(invitation.id) not in listing.content.decode()
    assert world_a.tenant.name not in listing.content.decode()
    bodies = set()
    for decision in ("accept", "decline"):
        for invitation_id in (invitation.id, uuid.uuid4()):
            response = client.post(f"/v1/invitations/{invitation_id}/{decision}")
            assert response.status_code == 404, response.content
            body = response.json()
            bodies.add((body["title"], body["detail"]))
    assert len(bodies) == 1  # A's invitation answers exactly like one that does not exist
    # Revoking A's invitation through B's tenant finds nothing either.
    response = client.delete(f"/v1/tenants/{world_b.tenant.id}/invitations/{invitation.id}")
    assert response.status_code == 404
    assert a_snapshot(world_a) == before


def _graphql(client, tenant_id, query: str, variables: dict | None = None):
    return client.post(
        f"/v1/tenants/{tenant_id}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )


def test_graphql_attack(attack):
    world_a, world_b, client = attack
    before = a_snapshot(world_a)
    ids = a_ids(world_a)
    # A's endpoint: 404 like every tenant route.
    assert _graphql(client, world_a.tenant.id, "{ invoices { totalCount } }").status_code == 404
    # B's endpoint with A's ids: nothing found, nothing changed.
    lookups = [
        ("query($id: UUID!) { invoice(id: $id) { id } }", ids["invoice_id"]),
        ("query($id: UUID!) { vendor(id: $id) { id } }", ids["vendor_id"]),
        ("query($id: UUID!) { bankTransaction(id: $id) { id } }", ids["transaction_id"]),
        ("query($id: UUID!) { match(id: $id) { id } }", ids["match_id"]),
        ("query($id: UUID!) { reconciliationRun(id: $id) { id } }", ids["run_id"]),
        ("query($id: UUID!) { remittanceAdvice(id: $id) { id } }", ids["advice_id"]),
        ("mutation($id: UUID!) { confirmMatch(id: $id) { id } }", ids["match_id"]),
        ("mutation($id: UUID!) { rejectMatch(id: $id) { id } }", ids["match_id"]),
        ("mutation($id: UUID!) { undoMatch(id: $id) { id } }", ids["match_id"]),
        ("mutation($id: UUID!) { deleteInvoice(id: $id) { id } }", ids["invoice_id"]),
        ("query($id: UUID!) { webhookEndpoint(id: $id) { id url } }", ids["webhook_id"]),
        ("query($id: UUID!) { event(id: $id) { id data } }", ids["event_id"]),
        ("mutation($id: UUID!) { rotateWebhookSecret(id: $id) { secret } }", ids["webhook_id"]),
        ("mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) { id } }", ids["webhook_id"]),
        ("mutation($id: UUID!) { resendEvent(id: $id) { id } }", ids["event_id"]),
        (
            "mutation($id: UUID!) { updateWebhookEndpoint(id: $id, input: {active: false}) { id } }",
            ids["webhook_id"],
        ),
    ]
    for query, value in lookups:
        body = _graphql(client, world_b.tenant.id, query, {"id": value}).json()
        data = body.get("data") or {}
        assert not any(data.values()), (query, body)
        assert body.get("errors"), (query, body)
        assert value not in json.dumps(body).replace(f'"{value}"', ""), query
    explain = _graphql(
        client,
        world_b.tenant.id,
        "query($i: UUID!, $t: UUID!) { explain(invoiceId: $i, transactionId: $t) { confidence } }",
        {"i": ids["invoice_id"], "t": ids["transaction_id"]},
    ).json()
    assert explain.get("errors")
    listing = _graphql(client, world_b.tenant.id, "{ invoices { totalCount edges { node { id } } } }").json()
    assert ids["invoice_id"] not in json.dumps(listing)
    hooks = _graphql(
        client, world_b.tenant.id, "{ webhookEndpoints { items { id url } } events { items { id } } }"
    )
    assert ids["webhook_id"] not in hooks.content.decode() and ids["event_id"] not in hooks.content.decode()
    assert "erp.acme" not in hooks.content.decode() and "erp.beta" in hooks.content.decode()
    assert a_snapshot(world_a) == before


def test_runtime_role_without_tenant_sees_and_writes_nothing(attack):
    """SQL level: as the runtime role with no tenant set, every tenant table is empty."""
    with transaction.atomic(), connection.cursor() as cursor:  # SET LOCAL needs a transaction
        cursor.execute("SET LOCAL ROLE recon_tenant")
        for model in tenant_models():
            cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608
            assert cursor.fetchone()[0] == 0, model._meta.db_table
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
            assert cursor.rowcount == 0
        cursor.execute("RESET ROLE")


# --- Admin ------------------------------------------------------------------------------------

ADMIN_EXEMPT = {
    "admin/login/": "login form, no tenant data",
    "admin/logout/": "logout, no tenant data",
    "admin/password_change/": "the user's own password, no tenant data",
    "admin/password_change/done/": "confirmation page, no tenant data",
    "admin/jsi18n/": "static translations",
    "admin/auth/user/<id>/password/": "platform page for superusers, same guard as the user pages",
}

# Model admin URL segment -> the seeded object of tenant A (or a platform object of A's users).
ADMIN_TARGETS = {
    "invoices/invoice": lambda a: a.seeded["invoice"].pk,
    "invoices/vendor": lambda a: a.seeded["vendor"].pk,
    "banking/bankaccount": lambda a: a.seeded["account"].pk,
    "banking/importbatch": lambda a: a.seeded["batch"].pk,
    "banking/banktransaction": lambda a: a.seeded["transaction"].pk,
    "banking/bankstatement": lambda a: a.seeded["statement"].pk,
    "banking/internaltransfer": lambda a: a.seeded["transfer"].pk,
    "reconciliation/match": lambda a: a.seeded["match"].pk,
    "reconciliation/reconciliationrun": lambda a: a.seeded["run"].pk,
    "tenants/tenantsettings": lambda a: _a_row("tenants_tenantsettings", a),
    "events/webhookendpoint": lambda a: a.seeded["webhook"].pk,
    "events/event": lambda a: a.seeded["event"].pk,
    "events/webhookdelivery": lambda a: a.seeded["delivery"].pk,
    "tenants/auditevent": lambda a: _a_row("tenants_auditevent", a),
    "tenants/membership": lambda a: _a_row("tenants_membership", a),
    "tenants/invitation": lambda a: a.seeded["invitation"].pk,
    "jobs/job": lambda a: a.seeded["job"].pk,
    "remittances/remittanceadvice": lambda a: a.seeded["advice"].pk,
    "tenants/tenant": lambda a: a.tenant.pk,
    "tenants/apitoken": lambda a: _a_token(a),
    "auth/user": lambda a: a.owner.pk,
    "auth/group": lambda a: 1,
    "axes/accessattempt": lambda a: _a_failed_login(a),
}


def _a_row(table: str, world) -> str:
    with tenant_context(world.tenant.id), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} LIMIT 1")  # noqa: S608
        return str(cursor.fetchone()[0])


def _a_failed_login(world) -> str:
    """A failed back-office login of one of A's users (a platform row, superusers only)."""
    from axes.models import AccessAttempt

    attempt, _ = AccessAttempt.objects.get_or_create(
        username=world.owner.username,
        ip_address="192.0.2.1",
        user_agent="attack",
        defaults={"http_accept": "*/*", "path_info": "/admin/login/", "failures_since_start": 1},
    )
    return str(attempt.pk)


def _a_token(world) -> str:
    """A's owner's token (created once: its creation is audited in A)."""
    from tenants.models import ApiToken

    if not ApiToken.objects.filter(user=world.owner, name="a-token").exists():
        bearer(world.owner, name="a-token")
    return str(ApiToken.objects.filter(user=world.owner, name="a-token").first().pk)


def admin_url(route: str, world_a) -> str:
    if "<path:object_id>" not in route and "<uuid:match_id>" not in route:
        return "/" + route
    if "<uuid:match_id>" in route:
        return "/" + route.replace("<uuid:match_id>", str(world_a.seeded["match"].pk)).replace(
            "<str:decision>", "confirm"
        )
    model = "/".join(route.split("/")[1:3])
    assert model in ADMIN_TARGETS, f"{route}: no attack target for model {model!r}; add one"
    return "/" + route.replace("<path:object_id>", str(ADMIN_TARGETS[model](world_a)))


def admin_routes() -> list[str]:
    return [r for r in all_routes() if r.startswith(ADMIN_PREFIX) and r not in ADMIN_EXEMPT]


@pytest.mark.parametrize("attacker", ["owner", "superuser"])
def test_admin_attack(attack, client, attacker):
    """B's owner (and a platform superuser who is a member of B only) against A's objects."""
    world_a, world_b, _api = attack
    user = world_b.owner
    user.is_staff = True
    user.is_superuser = attacker == "superuser"
    user.save()
    client.force_login(user)
    session = client.session
    session.save()
    _a_token(world_a)  # before the snapshot: creating it writes A's audit trail
    before = a_snapshot(world_a)
    # Switching into A is refused: the next pages are still B's.
    client.post("/admin/tenant/", {"tenant": str(world_a.tenant.id)})
    secrets = {str(v) for v in a_ids(world_a).values()} - {str(world_a.viewer.pk)}
    platform = ("admin/tenants/tenant/", "admin/auth/", "admin/tenants/apitoken/", "admin/axes/")
    for route in admin_routes():
        if attacker == "superuser" and route.startswith(platform):
            continue  # superusers manage tenants, users and tokens by design (no tenant data)
        url = admin_url(
            re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "invoices/", route.replace("(?P<url>.*)$", "anything")),
            world_a,
        )
        for method in ("get", "post"):
            # POST tries the delete action on A's ids; GET sends no parameters (they would be
            # echoed back in links and look like leaks).
            data = (
                {"action": "delete_selected", "_selected_action": sorted(secrets)}
                if method == "post"
                else None
            )
            response = getattr(client, method)(url, data)
            assert response.status_code in (200, 302, 400, 403, 404, 405), (
                f"{method} {url}: {response.status_code}"
            )
            if response.status_code == 200:
                body = response.content.decode(errors="replace")
                # Flash messages echo the attacker's own ids ("... with ID x doesn't exist").
                body = re.sub(r'<ul class="messagelist">.*?</ul>', "", body, flags=re.S)
                leaked = {secret for secret in secrets if secret in body}
                context = [body[max(0, body.find(s) - 300) : body.find(s) + 60] for s in leaked]
                assert not leaked, f"{method.upper()} {url} shows tenant A's ids {leaked}: {context}"
                assert world_a.tenant.name not in body or attacker == "superuser", url
    assert a_snapshot(world_a) == before
