"""The tenant admin's base is composed of named mixins, one concern each (issue 16)."""

from __future__ import annotations

import itertools

import pytest

from tenants.admin_site import (
    AuditHistoryAdminMixin,
    ListToolsAdminMixin,
    ServiceDeleteAdminMixin,
    TenantAdminMixin,
    TenantQuerysetAdminMixin,
    TenantRoleAdminMixin,
)

NAMED_MIXINS = (
    TenantRoleAdminMixin,
    TenantQuerysetAdminMixin,
    AuditHistoryAdminMixin,
    ServiceDeleteAdminMixin,
    ListToolsAdminMixin,
)


def _hooks(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("__")}


def test_the_tenant_admin_is_the_named_mixins_composed() -> None:
    assert all(issubclass(TenantAdminMixin, mixin) for mixin in NAMED_MIXINS)
    assert not _hooks(TenantAdminMixin), "hooks belong in a named mixin"


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(NAMED_MIXINS, 2)))
def test_no_mixin_overrides_another(first: type, second: type) -> None:
    """Their order in the base then does not matter: each hook has exactly one home."""
    assert not _hooks(first) & _hooks(second)


def test_every_registered_tenant_admin_gets_its_hooks_from_the_mixins() -> None:
    """A hook resolves to its mixin (or an app admin's own override), never to ModelAdmin's."""
    from tenants.admin_site import site

    tenant_admins = [admin for admin in site._registry.values() if isinstance(admin, TenantAdminMixin)]
    assert tenant_admins
    for admin in tenant_admins:
        for mixin in NAMED_MIXINS:
            for hook in _hooks(mixin):
                owner = next(cls for cls in type(admin).__mro__ if hook in vars(cls))
                assert owner is mixin or issubclass(owner, TenantAdminMixin), (type(admin), hook, owner)
