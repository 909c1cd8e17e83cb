"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from common.errors import unknown_field_errors
from common.finance import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, AmountError, exact_decimal, quantize

# --- input ---------------------------------------------------------------------------------------


class StrictFieldsMixin:
    """Refuses keys a serializer does not declare (400 naming each), at every nesting level.

    DRF drops undeclared keys silently, so a misspelt ``descripton`` or an unsupported
    ``iban`` vanished while the request answered 201. The unknown keys are reported together
    with the declared fields' own errors, so one response lists every problem. Mixed into every
    serializer that reads a request body (``StrictInputSerializer``, and model serializers used
    for input); query-string filters are not bodies and stay lenient (pagination and cache
    busting parameters share the query string).
    """

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        unknown = unknown_field_errors(data, self.fields) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from error
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# Base of the request-body serializers. Its docstring is the OpenAPI description of every body
# that does not describe itself (drf-spectacular reads the nearest docstring), so it is public.
class StrictInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Only the fields listed are accepted: any other key is refused (400 naming it)."""


# A decimal number as JSON text: how every amount is declared, in requests and responses alike.
DECIMAL_STRING_PATTERN = r"^-?\d+(\.\d+)?$"
MONEY_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": DECIMAL_STRING_PATTERN,
    "example": "150.00",
    "description": "Decimal string at the currency's minor unit (USD 2 decimals, JPY 0, KWD 3).",
}
# Amounts clients send: declared as decimal strings, so generated clients send exact text (not
# floats); the parsers also read JSON numbers exactly (api.parsers), so both keep working.
AMOUNT_INPUT_SCHEMA = {
    **MONEY_SCHEMA,
    "description": "Exact decimal string, at most the currency's minor unit of decimals (USD 2, JPY 0, "
    "KWD 3). A JSON number is accepted too and read exactly, never through a float.",
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """Read-only: ``obj.<amount_attr>`` as a string at the minor unit of ``obj.<currency_attr>``.

    The one money output of the REST API (lists render it through ``RowRenderer``, GraphQL
    quantizes the same way): amounts are stored with 4 decimals, clients see ``"150.00"`` for
    USD, ``"1500"`` for JPY and ``"1.500"`` for KWD. ``obj`` may be a model instance, a
    dataclass or a dict.
    """

    def __init__(self, amount_attr: str, currency_attr: str = "currency", **kwargs: Any) -> None:
        self.amount_attr = amount_attr
        self.currency_attr = currency_attr
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        if isinstance(value, Mapping):
            return str(quantize(value[self.amount_attr], value[self.currency_attr]))
        return str(quantize(getattr(value, self.amount_attr), getattr(value, self.currency_attr)))


class ExactDecimalField(serializers.DecimalField):
    """DRF's DecimalField that first reads the value by the financial kernel's rule.

    DRF parses strings with ``Decimal()``, which takes ``"1.5e3"`` as 1500: here exponents,
    floats and values beyond the storage precision are refused (``exact_decimal``), then DRF's
    own digits, places and bounds apply.
    """

    def to_internal_value(self, data: Any) -> Any:
        try:
            exact = exact_decimal(data)
        except AmountError as error:
            raise serializers.ValidationError(f"Not an exact decimal: {error}.") from None
        return super().to_internal_value(exact)


class AmountFilterField(ExactDecimalField):
    """A query-string amount bound (``min_amount``, ``max_amount``): read like every amount.

    The one field of every REST amount filter (GraphQL's filters read their bounds through the
    ``Decimal`` scalar, which applies the same kernel rule). ``1e2``, ``15000e-2`` and ``1_000``
    are refused with a 400 naming the parameter, never taken for 100, 150.00 or 1000; the
    bound may have up to the storage precision (``numeric(18, 4)``).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


# --- list output from .values() rows ---------------------------------------------------------------

_RowFormatter = Callable[[Mapping[str, Any]], Any]


def _plain(key: str, convert: Callable[[Any], Any]) -> _RowFormatter:
    def format_value(row: Mapping[str, Any]) -> Any:
        value = row[key]
        return None if value is None else convert(value)

    return format_value


def _money(amount_key: str, currency_key: str) -> _RowFormatter:
    def format_value(row: Mapping[str, Any]) -> str:
        return str(quantize(row[amount_key], row[currency_key]))

    return format_value


def _datetime(key: str, field: serializers.DateTimeField) -> _RowFormatter:
    """``DateTimeField.to_representation`` (ISO 8601, UTC as "Z") with its time zone read once."""
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()

    def format_value(row: Mapping[str, Any]) -> Any:
        value = row[key]
        if not value:
            return None
        if zone is not None and value.utcoffset() is not None:
            value = value.astimezone(zone)
        else:
            value = field.enforce_timezone(value)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return format_value


def _is_iso_8601(output_format: Any) -> bool:
    return isinstance(output_format, str) and output_format.lower() == ISO_8601


def _converter(field: serializers.Field) -> Callable[[Any], Any]:
    """``field.to_representation`` of a non-null value, for the field types lists use."""
    if isinstance(field, serializers.ChoiceField):
        choices = field.choice_strings_to_values
        return lambda value: value if value == "" else choices.get(str(value), value)
    if isinstance(field, serializers.UUIDField):
        if field.uuid_format != "hex_verbose":
            raise TypeError(f"{field.field_name}: only hex_verbose UUIDs are supported")
        return str
    if isinstance(field, serializers.CharField):
        return str
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, serializers.DateField):
        if not _is_iso_8601(getattr(field, "format", api_settings.DATE_FORMAT)):
            raise TypeError(f"{field.field_name}: only ISO 8601 dates are supported")
        return lambda value: value.isoformat() if value else None
    if isinstance(field, serializers.ListField):
        child = _converter(field.child)
        return lambda items: [None if item is None else child(item) for item in items]
    raise TypeError(f"{type(field).__name__} ({field.field_name}) is not supported by RowRenderer")


class RowRenderer:
    """``serializer_class(instances, many=True).data``, rendered from ``.values()`` rows.

    Lists are the hot path: DRF spends much of a list request on per-field attribute lookups
    and checks, and building model instances costs about as much again (figures in
    docs/benchmarks.md, "List request cost"). The renderer is
    derived from the output serializer itself (same field names, order, sources and formats),
    so list output cannot drift from detail output or from the OpenAPI schema, which still
    comes from the serializer. A field type it does not reproduce exactly raises when the
    renderer is built (at import) rather than being rendered differently. ``annotations``
    supply, as ORM expressions, attributes that are not columns (e.g. a model property).
    """

    def __init__(self, serializer_class: type[serializers.Serializer], **annotations: Any) -> None:
        self.serializer_class = serializer_class
        self.annotations = annotations
        # (output name, column key, DateTimeField) for date-times, whose zone is read per call;
        # (output name, formatter, None) for everything else.
        self._plan: list[tuple[str, Any, serializers.DateTimeField | None]] = []
        keys: list[str] = []
        for name, field in serializer_class().fields.items():
            if field.write_only:
                continue
            if isinstance(field, MoneyField):
                keys += [field.amount_attr, field.currency_attr]
                self._plan.append((name, _money(field.amount_attr, field.currency_attr), None))
                continue
            if field.source == "*":
                raise TypeError(f"{name}: source='*' is only supported for MoneyField")
            key = "__".join(field.source_attrs)
            keys.append(key)
            if isinstance(field, serializers.DateTimeField):
                if not _is_iso_8601(getattr(field, "format", api_settings.DATETIME_FORMAT)):
                    raise TypeError(f"{name}: only ISO 8601 date-times are supported")
                self._plan.append((name, key, field))
            else:
                self._plan.append((name, _plain(key, _converter(field)), None))
        self.keys = tuple(dict.fromkeys(key for key in keys if key not in annotations))

    def values(self, queryset: QuerySet, *, extra: Iterable[str] = ()) -> QuerySet:
        """``queryset.values()`` with the columns the serializer reads, plus ``extra`` ones."""
        names = dict.fromkeys([*self.keys, *(name for name in extra if name not in self.annotations)])
        return queryset.values(*names, **self.annotations)

    def render(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The serializer's representation of each row (a list of plain dicts)."""
        plan = [
            (name, _datetime(spec, field) if field is not None else spec) for name, spec, field in self._plan
        ]
        return [{name: format_value(row) for name, format_value in plan} for row in rows]
