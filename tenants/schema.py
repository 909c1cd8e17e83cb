"""GraphQL of a tenant's settings (what the next reconciliation run uses).

``reconciliation.schema`` composes ``TenantsQuery`` and ``TenantsMutation`` into the one tenant
schema; the resolvers are thin faces of ``tenants.selectors`` and ``tenants.services``.
``WriteOffReasonEnum`` is the tenants' vocabulary (their policy lists the allowed reasons); the
matches that record one (``reconciliation.schema``) use it too.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from api.graphql.fields import owner_mutation, read_field

from . import selectors as tenant_selectors
from . import services as tenant_services
from .models import WriteOffReason


@strawberry.enum(name="WriteOffReason", description="Why a shortfall was written off.")
class WriteOffReasonEnum(enum.Enum):
    BANK_FEE = WriteOffReason.BANK_FEE.value
    DISCOUNT = WriteOffReason.DISCOUNT.value
    ROUNDING = WriteOffReason.ROUNDING.value
    PROCESSOR_FEE = WriteOffReason.PROCESSOR_FEE.value
    OTHER = WriteOffReason.OTHER.value


@strawberry.type(name="TenantSettings", description="Used by the next reconciliation run.")
class TenantSettingsType:
    default_currency: str
    auto_confirm_threshold: Decimal | None = strawberry.field(description="null: auto-confirmation is off.")
    auto_confirm_shadow: bool = strawberry.field(
        description="Shadow mode: runs confirm nothing automatically but flag (wouldAutoConfirm) what the "
        "threshold would have confirmed."
    )
    fee_tolerance_fixed: Decimal
    fee_tolerance_percent: Decimal
    date_window_days: int
    internal_transfer_days: int = strawberry.field(
        description="How many days apart the two legs of a transfer between your own accounts may be "
        "booked to be paired at import."
    )
    auto_reconcile: bool = strawberry.field(description="A run starts by itself after each import.")
    write_off_max_amount: Decimal = strawberry.field(
        description="Largest shortfall a confirmation may write off, in the invoice's currency (0: none)."
    )
    write_off_max_percent: Decimal = strawberry.field(
        description="Largest shortfall a confirmation may write off, in percent of the invoice (both apply)."
    )
    write_off_reasons: list[WriteOffReasonEnum] = strawberry.field(
        description="Reasons a write-off may give."
    )
    rejection_memory: int = strawberry.field(
        description="Rejections of a customer for a payer after which it is not proposed for it (0: never)."
    )
    processor_fee_percent: Decimal = strawberry.field(
        description="A payment through PayPal, Stripe, Square, ... short by up to this percentage plus "
        "processorFeeFixed is booked as the processor's fee."
    )
    processor_fee_fixed: Decimal


def tenant_settings_type(row: Any) -> TenantSettingsType:
    """The GraphQL view of a ``TenantSettings`` row."""
    return TenantSettingsType(
        default_currency=row.default_currency,
        auto_confirm_threshold=row.auto_confirm_threshold,
        auto_confirm_shadow=row.auto_confirm_shadow,
        fee_tolerance_fixed=row.fee_tolerance_fixed,
        fee_tolerance_percent=row.fee_tolerance_percent,
        date_window_days=row.date_window_days,
        internal_transfer_days=row.internal_transfer_days,
        auto_reconcile=row.auto_reconcile,
        write_off_max_amount=row.write_off_max_amount,
        write_off_max_percent=row.write_off_max_percent,
        write_off_reasons=[WriteOffReasonEnum(reason) for reason in row.write_off_reasons],
        rejection_memory=row.rejection_memory,
        processor_fee_percent=row.processor_fee_percent,
        processor_fee_fixed=row.processor_fee_fixed,
    )


@strawberry.input(description="Only the fields given change; autoConfirmThreshold: null switches it off.")
class TenantSettingsInput:
    default_currency: str | None = strawberry.UNSET
    auto_confirm_threshold: Decimal | None = strawberry.UNSET
    auto_confirm_shadow: bool | None = strawberry.UNSET
    fee_tolerance_fixed: Decimal | None = strawberry.UNSET
    fee_tolerance_percent: Decimal | None = strawberry.UNSET
    date_window_days: int | None = strawberry.UNSET
    internal_transfer_days: int | None = strawberry.UNSET
    auto_reconcile: bool | None = strawberry.UNSET
    write_off_max_amount: Decimal | None = strawberry.UNSET
    write_off_max_percent: Decimal | None = strawberry.UNSET
    write_off_reasons: list[WriteOffReasonEnum] | None = strawberry.UNSET
    rejection_memory: int | None = strawberry.UNSET
    processor_fee_percent: Decimal | None = strawberry.UNSET
    processor_fee_fixed: Decimal | None = strawberry.UNSET


@strawberry.type
class TenantsQuery:
    @read_field(description="The tenant's settings (default currency, auto-confirmation, fee tolerance).")
    def tenant_settings(self) -> TenantSettingsType:
        return tenant_settings_type(tenant_selectors.tenant_settings_get())


@strawberry.type
class TenantsMutation:
    @owner_mutation(description="Change the tenant's settings (owners); used by the next reconciliation run.")
    def update_tenant_settings(self, info: Info, input: TenantSettingsInput) -> TenantSettingsType:
        changes = {
            name: [reason.value for reason in value]
            if name == "write_off_reasons" and value is not None
            else value
            for name, value in vars(input).items()
            if value is not strawberry.UNSET and name in tenant_services.SETTINGS_FIELDS
        }
        row = tenant_services.tenant_settings_update(
            changes=changes, actor=info.context.user
        )
        return tenant_settings_type(row)
