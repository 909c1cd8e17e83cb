"""GraphQL at ``/v1/tenants/{tenant_id}/graphql``: a thin face over the apps' services and selectors.

``types`` (scalars, enums, object and input types), ``queries``, ``mutations``, ``permissions``
(declared role checks), ``schema`` (limits, error formatting) and ``views`` (the sync view).
"""
