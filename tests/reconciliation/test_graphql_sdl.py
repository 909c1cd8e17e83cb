"""The GraphQL contract as a snapshot: the SDL the one composed schema prints.

The types live with their apps and are composed in ``reconciliation.schema``; moving a type or a
resolver must not change what clients see. A change that should change the contract updates
``schema.graphql`` in the same commit (print it with ``schema.as_str()``), so the diff shows it.
"""

from __future__ import annotations

from pathlib import Path

from reconciliation.schema.schema import schema

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def test_the_sdl_is_the_committed_snapshot():
    assert schema.as_str() == SNAPSHOT.read_text(encoding="utf-8")
