"""HTTP plumbing shared by every app's REST (and, where it applies, GraphQL) interface.

What lives here: RFC 9457 problem+json rendering and the DRF exception handler (``problems``),
request body parsing (``parsers``), cursor pagination (``pagination``), the strict serializer base
classes and exact-decimal fields (``serializers``), the OpenAPI hooks (``schema``), the write rate
limit (``ratelimit``), ``Idempotency-Key`` replay (``idempotency``), upload names as sent
(``uploads``), request ids with structured logs (``observability``) and the base class of every
view under ``/v1/tenants/{tenant_id}/`` (``views.TenantAPIView``).

The rule: a module belongs here when it is about *how* a request is received or answered, the
same way for every app, and holds no business rule. It may import ``common`` and the tenancy
core (``tenants.models``, ``tenants.context``, ``tenants.authentication``, ``tenants.middleware``,
``tenants.permissions``: every request is a tenant's), never the ledgers (``invoices``,
``banking``), ``reconciliation``, ``jobs`` or ``config``. The tenancy core (models, context,
services, selectors) does not import ``api``; only tenants' own HTTP faces (``tenants.apis``,
``tenants.middleware``) do, like every other app's. ``tests/test_layers.py`` checks both directions.
"""
