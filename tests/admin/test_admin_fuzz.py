"""Hand-made admin URLs: every list, every page of every ModelAdmin, as a tenant owner and as a
superuser working in the tenant. Nothing a client can put in a URL may cause a 5xx, the classes
below must be refused with a 4xx, and nothing is written.

Discovered from the admin site registry, so a new ModelAdmin (its list filters, its date
drill-down, its extra pages) is covered without editing this file. Classes kept covered:

* NUL bytes in list filters, search, ordering and paging (PostgreSQL refuses NUL in text);
* date drill-down years 0, 9999 (whose period ends after 9999-12-31), 99999 and beyond C's int,
  impossible months and days; the same years on every date column (``?due_date__year=0``);
* bogus filter values, unknown filters, bogus ordering (``o=``), paging and ``_to_field``;
* bogus object ids on every object page, and bulk actions on bogus ids;
* ``/admin/r/<content type>/<id>/`` (view on site) for every content type: 404, nothing read;
* platform pages (a user's password page included) for a superuser whose tenant is active.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse

from tenants.admin_middleware import _model_is_tenant_scoped
from tenants.admin_params import MAX_LIST_PARAMETER_LENGTH
from tenants.admin_site import site
from tenants.checks import tenant_models
from tenants.context import tenant_context
from tests.seed import seed_every_tenant_table
from tests.tenants.factories import add_member

from .conftest import make_staff

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = "9" * 30  # beyond any integer column and C's int
TOO_LONG = "x" * (MAX_LIST_PARAMETER_LENGTH + 1)

# Query strings every list must refuse with a 4xx.
REFUSED_EVERYWHERE: list[dict[str, str]] = [
    {"q": f"INV{NUL}1001"},
    {"q": TOO_LONG},
    {"o": NUL},
    {NUL: "1"},
    {"nonexistent_filter": "1"},
    {"_to_field": "password"},
]
# ... and with any value these, as long as no 5xx comes back.
TOLERATED_EVERYWHERE: list[dict[str, str]] = [
    {"o": "-99.0.bogus"},
    {"o": HUGE},
    {"p": HUGE},
    {"all": "", "_facets": "1"},
    {"q": "%_'\"\\"},
]
# Per filter parameter of each list (NUL refused; the rest: whatever the filter makes of it).
FILTER_VALUES_REFUSED = [f"open{NUL}"]
FILTER_VALUES_TOLERATED = ["bogus", HUGE]


def drill_downs(field: str) -> Iterator[tuple[dict[str, str], bool]]:
    """(query, must be refused) for a date hierarchy on ``field``."""
    for year in ("0", "9999", "99999", HUGE):
        yield {f"{field}__year": year}, True
    for year, month in (("9999", "12"), ("2024", "13")):
        yield {f"{field}__year": year, f"{field}__month": month}, True
    for day in (("9999", "12", "31"), ("2024", "2", "30")):
        yield dict(zip((f"{field}__year", f"{field}__month", f"{field}__day"), day, strict=True)), True
    for valid in (("1",), ("9999", "1", "31")):
        yield dict(zip((f"{field}__year", f"{field}__month", f"{field}__day"), valid, strict=False)), False


def platform_digest() -> dict[str, str]:
    """Every row of both tenants' tables and of the platform tables (sessions aside)."""
    digest: dict[str, str] = {}
    tables = [m._meta.db_table for m in tenant_models()]
    platform = [
        "auth_user",
        "auth_group",
        "auth_user_groups",
        "tenants_tenant",
        "tenants_apitoken",
        "django_admin_log",
        "axes_accessattempt",
    ]
    from tenants.models import Tenant

    rows_digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    with connection.cursor() as cursor:
        for table in platform:
            cursor.execute(f"SELECT count(*), {rows_digest} FROM {table} t")  # noqa: S608
            digest[table] = "{}:{}".format(*cursor.fetchone())
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(tenant_id), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"SELECT count(*), {rows_digest} FROM {table} t")  # noqa: S608
                digest[f"{tenant_id}:{table}"] = "{}:{}".format(*cursor.fetchone())
    return digest


@pytest.fixture
def fuzz_world(world_a, world_b, django_user_model):
    """Both tenants seeded in every table; A's owner, and a superuser who is an owner of A."""
    world_a.seeded = seed_every_tenant_table(world_a.tenant)
    world_b.seeded = seed_every_tenant_table(world_b.tenant)
    make_staff(world_a.owner)
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    add_member(world_a.tenant, root, "owner")
    AccessAttempt.objects.create(
        username=world_b.owner.username,
        ip_address="192.0.2.1",
        user_agent="fuzz",
        http_accept="*/*",
        path_info="/admin/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    return {"owner": world_a.owner, "superuser": root, "a": world_a, "b": world_b}


def logged_in(client: Any, user: Any) -> Any:
    client.force_login(user)
    client.get("/admin/")  # the single membership becomes the active tenant
    return client


def changelists(client: Any) -> Iterator[tuple[Any, str, Any]]:
    """(model admin, list URL, the list's ChangeList or None when the user may not see it)."""
    for model, model_admin in site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(url)
        assert response.status_code < 500, url
        context = response.context
        changelist = context.get("cl") if context is not None and response.status_code == 200 else None
        yield model_admin, url, changelist


def list_cases(model_admin: Any, changelist: Any) -> Iterator[tuple[dict[str, str], bool]]:
    """(query, must be refused) for one list: its own filters and drill-down, and the rest."""
    for query in REFUSED_EVERYWHERE:
        yield query, True
    for query in TOLERATED_EVERYWHERE:
        yield query, False
    parameters = sorted(
        {name for spec in changelist.filter_specs for name in spec.expected_parameters() if name}
    )
    assert parameters or not model_admin.list_filter, model_admin
    for name in parameters:
        for value in FILTER_VALUES_REFUSED:
            yield {name: value}, True
        for value in FILTER_VALUES_TOLERATED:
            yield {name: value}, False
    if model_admin.date_hierarchy:
        yield from drill_downs(model_admin.date_hierarchy)
    for field in date_fields(model_admin.model):
        for year in ("0", "-5", "99999", HUGE):
            yield {f"{field}__year": year}, True
        for query in ({f"{field}__year": "9999"}, {f"{field}__month": "13"}, {f"{field}__day": HUGE}):
            yield query, False


def date_fields(model: Any) -> list[str]:
    """The model's own date and date-time columns (lookups on them are allowed in every list)."""
    from django.db.models import DateField

    return [f.name for f in model._meta.concrete_fields if isinstance(f, DateField)]


@pytest.mark.slow
@pytest.mark.parametrize("actor", ["owner", "superuser"])
def test_every_list_refuses_what_it_cannot_honour_and_never_fails(client, fuzz_world, actor):
    client = logged_in(client, fuzz_world[actor])
    before = platform_digest()
    failures, lists = [], 0
    for model_admin, url, changelist in changelists(client):
        if changelist is None:  # a redirect (settings) or 403 (a platform list for the owner)
            continue
        lists += 1
        for query, refused in list_cases(model_admin, changelist):
            response = client.get(url, query)
            status = response.status_code
            if status >= 500 or (refused and not 400 <= status < 500):
                failures.append(f"{url} {query!r:.120} -> {status}")
            elif refused and status == 400 and "invalid-list-detail" in response.content.decode():
                assert "Show all" in response.content.decode()
    assert lists >= (14 if actor == "superuser" else 10), lists
    assert not failures, "\n".join(failures)
    assert platform_digest() == before


def object_urls() -> Iterator[tuple[Any, str]]:
    """Every URL pattern of every ModelAdmin, with ``{id}`` where an object id goes."""
    for model, model_admin in site._registry.items():
        opts = model._meta
        for pattern in model_admin.get_urls():
            route = str(pattern.pattern)
            if "<" not in route:
                continue
            yield (
                model_admin,
                f"/admin/{opts.app_label}/{opts.model_name}/" + re.sub(r"<[^>]+>", "{id}", route),
            )


def test_every_object_page_survives_bogus_ids_and_never_crosses_tenants(client, fuzz_world):
    """As the superuser in tenant A: A's ids, B's ids and garbage on every object page."""
    a, b = fuzz_world["a"], fuzz_world["b"]
    client = logged_in(client, fuzz_world["superuser"])
    before = platform_digest()
    b_ids = {str(obj.pk) for obj in b.seeded.values()}
    failures = []
    for model_admin, template in object_urls():
        model = model_admin.model
        seeded = [o for o in a.seeded.values() if isinstance(o, model)]
        real = str(seeded[0].pk) if seeded else str(fuzz_world["superuser"].pk)
        foreign = [str(o.pk) for o in b.seeded.values() if isinstance(o, model)]
        for object_id in [real, *foreign, NUL, f"1{NUL}", HUGE, "-1", "x" * 300]:
            url = template.format(id=object_id)
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"GET {url!r:.120} -> {response.status_code}")
            elif (
                object_id in foreign and response.status_code == 200 and _model_is_tenant_scoped(model_admin)
            ):
                body = response.content.decode()
                assert not any(i in body for i in b_ids - {object_id}), url
    assert not failures, "\n".join(failures)
    assert platform_digest() == before


@pytest.mark.parametrize("actor", ["owner", "superuser"])
def test_bulk_actions_on_bogus_ids_write_nothing(client, fuzz_world, actor):
    client = logged_in(client, fuzz_world[actor])
    b_ids = [str(obj.pk) for obj in fuzz_world["b"].seeded.values()]
    before = platform_digest()
    failures = []
    for model_admin, url, changelist in changelists(client):
        if changelist is None:
            continue
        request = client.get(url).wsgi_request
        for action in model_admin.get_actions(request):
            for selected in ([NUL], ["bogus", HUGE], b_ids, []):
                data = {"action": action, "index": "0", "_selected_action": selected}
                response = client.post(url, data)
                if response.status_code >= 500:
                    failures.append(f"POST {url} {action} {selected!r:.80} -> {response.status_code}")
        response = client.post(url, {"action": NUL, "index": "0", "_selected_action": [NUL]})
        if response.status_code >= 500:
            failures.append(f"POST {url} action=NUL -> {response.status_code}")
    assert not failures, "\n".join(failures)
    assert platform_digest() == before


def test_view_on_site_links_answer_404_and_read_nothing(client, fuzz_world):
    """No model of the back office has a page outside it: /admin/r/ is gone for every id."""
    a, b = fuzz_world["a"], fuzz_world["b"]
    client = logged_in(client, fuzz_world["superuser"])
    before = platform_digest()
    ids = [str(a.seeded["invoice"].pk), str(b.seeded["invoice"].pk), str(fuzz_world["owner"].pk), NUL, HUGE]
    for content_type in [*ContentType.objects.values_list("pk", flat=True), 0, HUGE, NUL]:
        for object_id in ids:
            response = client.get(f"/admin/r/{content_type}/{object_id}/")
            assert response.status_code == 404, (content_type, object_id, response.status_code)
    assert platform_digest() == before
    page = client.get(f"/admin/invoices/invoice/{a.seeded['invoice'].pk}/change/").content.decode()
    assert "View on site" not in page and "/admin/r/" not in page
    assert "View site" not in client.get("/admin/").content.decode()
    for model_admin in site._registry.values():
        assert model_admin.view_on_site is False, model_admin


def test_platform_pages_work_for_a_superuser_whose_tenant_is_active(client, fuzz_world):
    """Every page of a platform model, with a real object, runs outside the tenant (no 5xx)."""
    a = fuzz_world["a"]
    client = logged_in(client, fuzz_world["superuser"])
    real_ids = {
        "user": fuzz_world["owner"].pk,
        "group": None,
        "tenant": a.tenant.pk,
        "apitoken": None,
    }
    from tests.tenants.factories import bearer

    bearer(fuzz_world["superuser"], name="root-token")
    from django.contrib.auth.models import Group

    from tenants.models import ApiToken

    real_ids["group"] = Group.objects.create(name="Finance").pk
    real_ids["apitoken"] = ApiToken.objects.get(name="root-token").pk
    real_ids["accessattempt"] = AccessAttempt.objects.get().pk
    checked = 0
    for model_admin, template in object_urls():
        if _model_is_tenant_scoped(model_admin):
            continue
        url = template.format(id=real_ids[model_admin.model._meta.model_name])
        response = client.get(url, follow=True)
        refused = url.endswith("/delete/") and not model_admin.has_delete_permission(response.wsgi_request)
        assert response.status_code == (403 if refused else 200), (url, response.status_code)
        checked += 1
    assert checked >= 10
    assert client.get(f"/admin/auth/user/{fuzz_world['owner'].pk}/password/").status_code == 200


def test_autocomplete_and_workbench_survive_nul_bytes(client, fuzz_world):
    client = logged_in(client, fuzz_world["superuser"])
    for term in (NUL, f"ro{NUL}ot", TOO_LONG):
        response = client.get(
            "/admin/autocomplete/",
            {"app_label": "tenants", "model_name": "membership", "field_name": "user", "term": term},
        )
        assert response.status_code == 200, response.status_code
        assert response.json()["results"] == []
    for name in (
        "q",
        "date_from",
        "date_to",
        "min_amount",
        "max_amount",
        "min_confidence",
        "page",
        "ipage",
        NUL,
    ):
        response = client.get("/admin/reconciliation/workbench/", {name: NUL})
        assert response.status_code < 500, (name, response.status_code)
