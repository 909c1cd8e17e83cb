"""What a GraphQL document may ask for, decided before it is validated or run.

Depth, aliases and tokens are limited by strawberry's extensions (``schema.py``); they do not
bound what a request costs: 15 aliases over a 500-row page of 2,000-character descriptions is
shallow and small. ``DocumentLimits`` checks, before validation, in this order:

1. **Which operation.** A document with several operations and no ``operationName`` is refused
   (GraphQL-over-HTTP; strawberry would silently run the first one).
2. **Nesting**, counting fragment spreads and inline fragments as levels (the depth limiter does
   not see them; a chain of a few hundred fragments exhausted the stack).
3. **Expansion**: fields after expanding every fragment, over every operation of the document.
   Fragments spread several times nest exponentially (a small query kept strawberry's depth and
   alias limiters busy far longer than a request may take; docs/benchmarks.md); validation
   walks each expanded field, so this bounds its work.
4. **Cost** of the operation that runs: every field of every row it can return, weighted by the
   size of its value. A list counts its largest possible length: the page size (``first``, capped
   by the resolver's maximum) for pages and ``reconcile``'s candidates, the number of inputs for
   ``scoreCandidates`` and imports, and a declared bound for the others (``LIST_BOUNDS``). A
   text field counts one unit per ``TEXT_COST_UNIT`` characters of its bound (``common.limits``,
   via the model field), other values one. So the cost is an upper bound of the response in
   units of about 100 characters.

Nothing is counted twice by merging: ``a: invoices`` and ``b: invoices`` are two lists.

Some fields cost work, not bytes: ``FIELD_WORK`` adds their price to the cost and bounds how
many a request may run (``explain``: one), refused with an error naming the field.

Worst case: each unit is at most 100 characters, 600 bytes as JSON (a control character is
escaped to six bytes; the view writes other characters as UTF-8, at most four), plus ~40 bytes
of name and punctuation: ``MAX_COST`` x 640 B = 16 MB for the largest response. One full page
(500 rows) of any list with all its own fields fits: an invoice row costs 39 with its vendor's
name, a transaction 41, a vendor with its 20 aliases 48. A match lists at most
``EMBEDDED_ALLOCATIONS`` (25) allocations inline, each with its pair in ``breakdown``; a
remittance advice's match (up to 1,000) refuses those lists and pages with ``allocationPage``.
Engine reasons are the expensive part: a match stores at most 12
(``engine.core.MAX_PROPOSAL_REASONS``) of at most 300 characters each
(``engine.signals.REASON_MESSAGE_MAX_CHARS``: client texts are quoted as 80-character
excerpts), so a match with all its fields and reasons costs about 100 and a page of 200 fits;
with its full per-pair breakdown (up to 25 pairs, every signal and blocker) a match costs
4,552, 5 per request (975 and 25 when 6 pairs were counted: fewer than a quoted group has).
(Before the engine bounded its texts a reason could quote a 2,000-character description and
a match carry 62 reasons: 15 matches with reasons, 4 with breakdowns.)
Introspection is counted by its expanded fields plus ``INTROSPECTION_COST`` for the schema's
own size (~90 kB of JSON).

Writes: ``mutation_count`` tells the rate limiter how many mutations a request carries.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    parse,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.utils.str_converters import to_camel_case

from api.graphql.pagination import MAX_PAGE_SIZE
from banking.models import BankStatement, BankTransaction, InternalTransfer
from banking.selectors import CHECK_DETAIL_MAX_CHARS, STATEMENT_CHECKS
from common import limits
from common.finance.terms import PAYMENT_TERMS_MAX_CHARS
from events.delivery import MAX_ATTEMPTS as MAX_WEBHOOK_ATTEMPTS
from events.models import Event, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.services import MAX_DELIVERIES_PER_ENDPOINT, MAX_LISTED
from invoices.models import Invoice, Vendor, VendorLearnedEvidence
from remittances.models import RemittanceAdvice, RemittanceAdviceLine
from remittances.parsing import MAX_LINES_PER_ADVICE
from tenants.models import WriteOffReason

from ..backtest import MAX_THRESHOLDS
from ..engine.calibration import EXAMPLES_MAX, RECOMMENDATION_MAX_CHARS
from ..engine.core import MAX_ALTERNATIVES, MAX_PROPOSAL_REASONS
from ..engine.signals import BLOCKER_MESSAGES, REASON_MESSAGE_MAX_CHARS
from ..models import Match, ReconciliationRun
from ..selectors import EMBEDDED_ALLOCATIONS
from .queries import MAX_SCORE_TRANSACTIONS

# strawberry's limiters (schema.py) use these three.
MAX_DEPTH = 8
MAX_TOKENS = 5_000  # large inputs belong in variables, which are not tokens of the document
MAX_ALIASES = 15

MAX_COST = 25_000
MAX_EXPANDED_FIELDS = 25_000
MAX_NESTING = 24  # selections inside selections, fragments included (fields alone: MAX_DEPTH 8)
TEXT_COST_UNIT = 100  # characters of a text's bound that count as one unit
INTROSPECTION_COST = 1_000  # the whole schema's description, ~90 kB: ~1,000 units

ROWS = object()  # a list as long as the row argument of the field above it

# Fields whose work is not what they return: what each one costs, and how many a request may run.
# ``explain`` judges a pair as a run would, against all the tenant's open invoices (one read of
# the open ledger, seconds of CPU on a large book, so a few aliased explains hold a worker for
# a long time; docs/benchmarks.md). Priced at
# just over half of ``MAX_COST``, one fits beside ordinary reads and a second never does; the
# refusal names the field (REST's ``GET reconcile/explain`` answers one pair per request too).
MAX_EXPLAINS_PER_REQUEST = 1
FIELD_WORK: dict[str, tuple[int, int]] = {
    "Query.explain": (MAX_COST // (MAX_EXPLAINS_PER_REQUEST + 1) + 1, MAX_EXPLAINS_PER_REQUEST),
}

# Engine output, bounded by the engine's code (signals.explain, core._pair_proposal): a pair has
# 4 signals with at most 4 (amount), 3, 3 and 1 (date) reasons and one blocker per hard code; a
# proposal has at most ``_ALLOCATIONS`` pairs and stores at most ``MAX_PROPOSAL_REASONS``
# reasons (the strongest). A test checks them on a generated data set.
# A match lists its allocations (and their pairs) inline up to EMBEDDED_ALLOCATIONS, the
# largest shape the engine finds by itself (25 quoted invoices); a remittance advice's match (up
# to 1,000) is refused there and read with ``allocationPage``. (This was 6, ``max_subset_size``:
# a group of quoted invoices could already hold more than that bound counted.)
_ALLOCATIONS = EMBEDDED_ALLOCATIONS
_SIGNALS = 4
_REASONS_PER_SIGNAL = 4
_REASONS_PER_PROPOSAL = MAX_PROPOSAL_REASONS
_BLOCKERS_PER_PAIR = len(BLOCKER_MESSAGES)
_BLOCKERS_PER_PROPOSAL = 10

# List fields and their longest possible length (a test checks every list field is here).
LIST_BOUNDS: dict[str, Any] = {
    "InvoicePage.items": ROWS,
    "VendorPage.items": ROWS,
    "BankTransactionPage.items": ROWS,
    "MatchPage.items": ROWS,
    "ReconciliationRunPage.items": ROWS,
    "BankStatementPage.items": ROWS,
    "InternalTransferPage.items": ROWS,
    "BankStatement.checks": STATEMENT_CHECKS,
    "RemittanceAdvicePage.items": ROWS,
    "RemittanceAdvice.lines": MAX_LINES_PER_ADVICE,
    "RemittanceAdviceImportResult.adviceIds": 1,  # one advice per call
    "ScoreResult.proposals": ROWS,  # at most one proposal per supplied transaction
    "ImportResult.transactionIds": ROWS,  # one id per imported transaction
    # The run's ``first`` proposals (at most RECONCILE_RESPONSE_CANDIDATES).
    "ReconcileResult.candidates": ROWS,
    "Vendor.aliases": limits.ALIASES_PER_VENDOR,
    "Vendor.learnedEvidence": limits.LEARNED_EVIDENCE_PER_VENDOR,
    "LearnedEvidence.taughtBy": limits.LEARNED_TEACHERS,
    "TenantSettings.writeOffReasons": len(WriteOffReason.values),
    "Match.allocations": _ALLOCATIONS,
    "MatchAllocationPage.items": ROWS,
    "Match.breakdown": _ALLOCATIONS,
    "Candidate.allocations": _ALLOCATIONS,
    "ScoredProposal.allocations": _ALLOCATIONS,
    "ScoredProposal.breakdown": _ALLOCATIONS,
    "PairScore.signals": _SIGNALS,
    "Signal.reasons": _REASONS_PER_SIGNAL,
    "PairScore.blockers": _BLOCKERS_PER_PAIR,
    "Match.reasons": _REASONS_PER_PROPOSAL,
    "Candidate.reasons": _REASONS_PER_PROPOSAL,
    "ScoredProposal.reasons": _REASONS_PER_PROPOSAL,
    "ScoredProposal.autoConfirmBlockers": _BLOCKERS_PER_PROPOSAL,
    "BacktestReport.thresholds": MAX_THRESHOLDS,
    "BacktestReport.wrongExamples": EXAMPLES_MAX,
    "BacktestWrongExample.pairs": _ALLOCATIONS,
    "Match.alternatives": MAX_ALTERNATIVES,
    "Candidate.alternatives": MAX_ALTERNATIVES,
    "ScoredProposal.alternatives": MAX_ALTERNATIVES,
    "WebhookEndpointPage.items": ROWS,
    "EventPage.items": ROWS,
    "WebhookEndpoint.eventTypes": len(EventType),
    # Every endpoint, each delivered once and resent up to the bound (events.services).
    "Event.deliveries": limits.WEBHOOK_ENDPOINTS_PER_TENANT * MAX_DELIVERIES_PER_ENDPOINT,
    "WebhookDelivery.attempts": MAX_WEBHOOK_ATTEMPTS,
    "Mutation.resendEvent": limits.WEBHOOK_ENDPOINTS_PER_TENANT,
}

# Fields whose argument says how many rows their lists hold, with the resolver's maximum.
ROW_ARGUMENTS: dict[str, tuple[str, int | None]] = {
    "Query.invoices": ("first", MAX_PAGE_SIZE),
    "Query.vendors": ("first", MAX_PAGE_SIZE),
    "Query.bankTransactions": ("first", MAX_PAGE_SIZE),
    "Query.matches": ("first", MAX_PAGE_SIZE),
    "Query.reconciliationRuns": ("first", MAX_PAGE_SIZE),
    "Query.bankStatements": ("first", MAX_PAGE_SIZE),
    "Query.internalTransfers": ("first", MAX_PAGE_SIZE),
    "Query.remittanceAdvices": ("first", MAX_PAGE_SIZE),
    "Match.allocationPage": ("first", MAX_PAGE_SIZE),
    "Query.scoreCandidates": ("transactions", MAX_SCORE_TRANSACTIONS),
    "Mutation.importBankTransactions": ("transactions", None),  # bounded by the request body
    "Mutation.reconcile": ("first", settings.RECONCILE_RESPONSE_CANDIDATES),
    "Query.webhookEndpoints": ("first", MAX_PAGE_SIZE),
    "Query.events": ("first", MAX_PAGE_SIZE),
}
_MODELS_BY_TYPE: dict[str, type[models.Model]] = {
    "Invoice": Invoice,
    "Vendor": Vendor,
    "LearnedEvidence": VendorLearnedEvidence,
    "BankTransaction": BankTransaction,
    "Match": Match,
    "ReconciliationRun": ReconciliationRun,
    "BankStatement": BankStatement,
    "InternalTransfer": InternalTransfer,
    "RemittanceAdvice": RemittanceAdvice,
    "RemittanceAdviceLine": RemittanceAdviceLine,
    "WebhookEndpoint": WebhookEndpoint,
    "Event": Event,
    "WebhookDelivery": WebhookDelivery,
    "WebhookAttempt": WebhookAttempt,
}
# Texts that are not model columns. Engine messages quote excerpts of numbers, names and
# descriptions, bounded by the engine (``REASON_MESSAGE_MAX_CHARS``). scoreCandidates echoes its
# callers' ids (limits.NAME).
_OTHER_TEXT_BOUNDS = {
    "Reason.message": REASON_MESSAGE_MAX_CHARS,
    "PairScore.invoiceId": limits.NAME,
    "PairScore.transactionId": limits.NAME,
    "ScoredAllocation.invoiceId": limits.NAME,
    "ScoredAllocation.transactionId": limits.NAME,
    "ReconciliationRun.settingsUsed": 500,
    "BacktestReport.recommendation": RECOMMENDATION_MAX_CHARS,
    "StatementCheck.detail": CHECK_DETAIL_MAX_CHARS,
    "Invoice.paymentTerms": PAYMENT_TERMS_MAX_CHARS,
    # An event lists at most MAX_LISTED items of ~250 characters (an invoice or a match).
    "Event.data": MAX_LISTED * 250,
    "WebhookDelivery.endpointUrl": limits.WEBHOOK_URL,
}


def _text_bounds() -> dict[str, int]:
    """``Type.field`` -> maximum characters, from the models' max_length (``common.limits``)."""
    bounds = dict(_OTHER_TEXT_BOUNDS)
    for type_name, model in _MODELS_BY_TYPE.items():
        for model_field in model._meta.get_fields():
            base = getattr(model_field, "base_field", model_field)  # an ArrayField's items
            max_length = getattr(base, "max_length", None)
            if max_length:
                bounds[f"{type_name}.{to_camel_case(model_field.name)}"] = max_length
    return bounds


TEXT_WEIGHTS = {name: math.ceil(bound / TEXT_COST_UNIT) for name, bound in _text_bounds().items()}


# --- the operation a request runs ------------------------------------------------------------------


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]


def selected_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation that runs; GraphQLError when several could and none is named.

    None when the name matches none (strawberry answers that one itself).
    """
    found = operations(document)
    if operation_name is None:
        if len(found) > 1:
            raise GraphQLError(
                "Must provide operationName if the document contains several operations.",
                extensions={"errors": {"operationName": ["required with several operations"]}},
            )
        return found[0] if found else None
    return next((op for op in found if op.name is not None and op.name.value == operation_name), None)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
    }


def mutation_count(query: object, operation_name: object) -> int:
    """How many mutations a request runs: the distinct root fields of its mutation operation.

    Fields with the same response name merge into one execution, as GraphQL runs them; fields
    under ``@skip``/``@include`` count (an upper bound). A query runs none. A document that
    cannot run (syntax, an unknown or missing operationName) counts as one: it is refused
    further in, and refusing still costs the server.
    """
    if not isinstance(query, str) or not (operation_name is None or isinstance(operation_name, str)):
        return 1
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
        operation = selected_operation(document, operation_name)
    except GraphQLError:
        return 1
    if operation is None:
        return 1
    if operation.operation != OperationType.MUTATION:
        return 0
    fragments = _fragments(document)
    names: set[str] = set()
    visited: set[str] = set()
    pending = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add((selection.alias or selection.name).value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visited:
                visited.add(selection.name.value)
                if selection.name.value in fragments:
                    pending.append(fragments[selection.name.value].selection_set)
    return max(len(names), 1)


# --- nesting, expansion and cost -----------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


def _too_deep() -> _Refused:
    return _Refused(
        GraphQLError(f"The document nests selections (fragments included) deeper than {MAX_NESTING} levels.")
    )


@dataclass
class _Nesting:
    """Deepest selection path, each fragment computed once (linear in the document)."""

    fragments: Mapping[str, FragmentDefinitionNode]
    memo: dict[str, int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)

    def of(self, selection_set: SelectionSetNode, depth: int) -> int:
        """Levels below ``selection_set``, which sits ``depth`` levels deep; raises beyond the limit."""
        deepest = 0
        for selection in selection_set.selections:
            below = 0
            if isinstance(selection, FragmentSpreadNode):
                below = self._fragment(selection.name.value, depth + 1)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                below = self.of(selection.selection_set, depth + 1)
            deepest = max(deepest, 1 + below)
            if depth + deepest > MAX_NESTING:
                raise _too_deep()
        return deepest

    def _fragment(self, name: str, depth: int) -> int:
        if name not in self.memo:
            definition = self.fragments.get(name)
            if definition is None or name in self.active:
                return 0  # unknown or cyclic: validation reports it
            self.active.add(name)
            self.memo[name] = self.of(definition.selection_set, depth)
            self.active.discard(name)
        if depth + self.memo[name] > MAX_NESTING:
            raise _too_deep()
        return self.memo[name]


@dataclass
class _Cost:
    """Upper bound of what an operation returns (see the module docstring), or with ``flat``, the
    number of fields after expanding fragments. Each (fragment, rows) pair is computed once."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    variable_defaults: Mapping[str, ValueNode]
    flat: bool = False
    memo: dict[tuple[str, int], int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    # How many times each ``FIELD_WORK`` field can run (fragments memoised: counted when
    # computed, times the spreads that reuse them, see ``_fragment``).
    work: dict[str, int] = field(default_factory=dict)
    work_memo: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)

    def of(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, rows: int) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, rows)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                total += self.of(selection.selection_set, inner, rows)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, rows)
        return total

    def _fragment(self, name: str, rows: int) -> int:
        key = (name, rows)
        if key not in self.memo:
            definition = self.fragments.get(name)
            if definition is None or name in self.active:
                return 0  # unknown or cyclic: validation reports it
            self.active.add(name)
            inner = self.schema.get_type(definition.type_condition.name.value)
            before = dict(self.work)
            self.memo[key] = self.of(definition.selection_set, inner, rows)
            self.work_memo[key] = {
                work_key: runs - before.get(work_key, 0)
                for work_key, runs in self.work.items()
                if runs != before.get(work_key, 0)
            }
            self.active.discard(name)
        else:
            for work_key, count in self.work_memo.get(key, {}).items():
                self.work[work_key] = self.work.get(work_key, 0) + count
        return self.memo[key]

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, rows: int) -> int:
        name = node.name.value
        definition = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        if definition is None:  # an introspection field, or unknown (validation reports it)
            definition = _INTROSPECTION_FIELDS.get(name)
        if definition is None:
            return 1
        key = f"{parent.name}.{name}" if parent is not None else name
        introspection = name.startswith("__") or (parent is not None and parent.name.startswith("__"))
        items, weight, child_rows = 1, 1, 1
        if not (self.flat or introspection):
            weight = TEXT_WEIGHTS.get(key, 1)
            if key in FIELD_WORK:
                weight += FIELD_WORK[key][0]
                self.work[key] = self.work.get(key, 0) + rows
            if isinstance(get_nullable_type(definition.type), GraphQLList):
                bound = LIST_BOUNDS.get(key, MAX_PAGE_SIZE)
                items = rows if bound is ROWS else bound
            if key in ROW_ARGUMENTS:
                child_rows = self._rows(node, definition, *ROW_ARGUMENTS[key])
        if name in ("__schema", "__type") and not self.flat:
            weight = INTROSPECTION_COST
        below = 0
        if node.selection_set is not None:
            below = self.of(node.selection_set, get_named_type(definition.type), child_rows)
        return items * (weight + below)

    def _rows(self, node: FieldNode, definition: Any, argument: str, cap: int | None) -> int:
        """The row argument's value (an Int, or a list's length); its maximum when unreadable."""
        value: Any = Undefined
        given = next((arg.value for arg in node.arguments or () if arg.name.value == argument), None)
        if isinstance(given, VariableNode):
            value = self.variables.get(given.name.value, Undefined)
            if value is Undefined:
                given = self.variable_defaults.get(given.name.value)
        if value is Undefined and given is not None and not isinstance(given, VariableNode):
            value = (
                int(given.value)
                if isinstance(given, IntValueNode)
                else given.values
                if isinstance(given, ListValueNode)
                else None
            )
        if value is Undefined:
            value = definition.args[argument].default_value
        count = len(value) if isinstance(value, list | tuple) else value
        if isinstance(count, bool) or not isinstance(count, int):
            count = cap if cap is not None else 1  # execution refuses it; assume the worst
        count = max(count, 0)
        return min(count, cap) if cap is not None else count


_INTROSPECTION_FIELDS = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, ValueNode]:
    return {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


def _all_selection_sets(document: DocumentNode) -> Iterator[SelectionSetNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield definition.selection_set


def document_problem(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> GraphQLError | None:
    """Why the document must not be validated or run (None when it may be)."""
    try:
        operation = selected_operation(document, operation_name)
        fragments = _fragments(document)
        nesting = _Nesting(fragments)
        for selection_set in _all_selection_sets(document):
            nesting.of(selection_set, 0)
        expanded = sum(
            _Cost(schema, fragments, {}, {}, flat=True).of(op.selection_set, _root(schema, op), 1)
            for op in operations(document)
        )
        if expanded > MAX_EXPANDED_FIELDS:
            raise _Refused(
                GraphQLError(
                    f"The document expands to {expanded} fields; at most {MAX_EXPANDED_FIELDS} are allowed.",
                )
            )
        if operation is None:
            return None
        costing = _Cost(schema, fragments, variables or {}, _variable_defaults(operation))
        cost = costing.of(operation.selection_set, _root(schema, operation), 1)
    except _Refused as refused:
        return refused.error
    except GraphQLError as error:
        return error
    for key, runs in costing.work.items():
        allowed = FIELD_WORK[key][1]
        if runs > allowed:
            field_name = key.split(".")[-1]
            return GraphQLError(
                f"The operation asks for `{field_name}` {runs} times; it reads all the tenant's open "
                f"invoices, so it runs at most {allowed} per request: send one request per pair.",
                extensions={"cost": cost, "maxCost": MAX_COST},
            )
    if cost > MAX_COST:
        return GraphQLError(
            f"The operation may return too much: its cost is {cost}, at most {MAX_COST} is allowed. "
            "Ask for fewer rows (first), fewer fields or fewer aliases.",
            extensions={"cost": cost, "maxCost": MAX_COST},
        )
    return None


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    return schema.get_root_type(operation.operation)


class DocumentLimits(SchemaExtension):
    """Refuses documents ``document_problem`` objects to, before validation (which it bounds)."""

    def on_operation(self) -> Iterator[None]:
        # Before parsing, ExecutionContext.operation_name is the client's (or None): afterwards
        # strawberry substitutes the first operation's name.
        self.requested_operation = self.execution_context.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            problem = document_problem(
                context.schema._schema, context.graphql_document, self.requested_operation, context.variables
            )
            if problem is not None:
                # Set before validation runs: strawberry then skips validation and returns this.
                context.pre_execution_errors = [problem]
        yield
