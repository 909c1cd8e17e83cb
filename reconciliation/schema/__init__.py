"""GraphQL at ``/v1/tenants/{tenant_id}/graphql``: the one schema, composed here of every app's.

Each app's types, queries and mutations live in its ``schema.py`` on the plumbing of
``api.graphql``; this package holds reconciliation's own (``types``, ``queries``, ``mutations``),
``schema`` (the composition, error formatting), ``limits`` (depth, aliases, tokens and the cost of
a document, for the whole schema), ``context`` and ``views`` (the sync view).
"""
