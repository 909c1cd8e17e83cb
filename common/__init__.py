"""The ground floor: code shared by every floor of the project that needs neither Django nor the apps.

What lives here: the financial kernel (``finance``: amounts by ISO 4217 minor units, money
formatting, IBAN, ISO 11649 references), the domain error vocabulary that services raise and
every interface maps (``errors``), the bounds on every text field (``limits``), time-ordered
ids for bulk writes (``ids``), the garbage-collector pause for bulk work (``memory``) and the
terminal progress display of long commands (``progress``).

The rule: a module belongs here when it is plain Python (standard library and small pure
libraries) and knows nothing of the request, the database or the tenant. It imports nothing
of Django or of the project outside ``common``, so anything may import it, including the pure
floors (the matching engine and the statement parsers). Helpers that need the active tenant
(``tenants.statistics``, the ``--tenant`` argument in ``tenants.commands``) or the HTTP layer
(``api``) live on those floors instead. ``tests/test_layers.py`` checks it.
"""
