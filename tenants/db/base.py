"""The PostgreSQL backend with one change for tenant tables' composite primary keys.

In the database a tenant table's primary key is ``(tenant_id, id)`` (``tenants.rls``); Django's
model keeps ``id``. PostgreSQL lets a ``GROUP BY`` list only the primary key's columns and
select the rest (they depend on the key), and Django uses that: it groups by ``id`` alone. For a
tenant table ``id`` alone is no longer the key, so PostgreSQL refuses; for those models Django
lists every selected column instead. Platform tables keep the shorter form.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    def allows_group_by_selected_pks_on_model(self, model: Any) -> bool:
        from tenants.models import Membership, TenantModel

        if issubclass(model, TenantModel | Membership):
            return False
        return super().allows_group_by_selected_pks_on_model(model)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
