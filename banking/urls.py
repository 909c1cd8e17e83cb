from django.urls import path

from . import apis

urlpatterns = [
    path("bank-transactions", apis.BankTransactionListApi.as_view(), name="bank-transaction-list"),
    path("bank-transactions/import", apis.BankTransactionImportApi.as_view(), name="bank-transaction-import"),
    path(
        "bank-transactions/import-file", apis.BankStatementImportApi.as_view(), name="bank-statement-import"
    ),
    path(
        "bank-transactions/<uuid:transaction_id>",
        apis.BankTransactionDetailApi.as_view(),
        name="bank-transaction-detail",
    ),
    path("bank-accounts", apis.BankAccountListApi.as_view(), name="bank-account-list"),
    path(
        "bank-accounts/<uuid:account_id>/statements",
        apis.BankAccountStatementListApi.as_view(),
        name="bank-account-statement-list",
    ),
    path("statements", apis.StatementListApi.as_view(), name="statement-list"),
    path("statements/<uuid:statement_id>", apis.StatementDetailApi.as_view(), name="statement-detail"),
    path("internal-transfers", apis.InternalTransferListApi.as_view(), name="internal-transfer-list"),
    path(
        "internal-transfers/<uuid:transfer_id>",
        apis.InternalTransferDetailApi.as_view(),
        name="internal-transfer-detail",
    ),
    path(
        "internal-transfers/<uuid:transfer_id>/unpair",
        apis.InternalTransferUnpairApi.as_view(),
        name="internal-transfer-unpair",
    ),
    path("import-batches", apis.ImportBatchListApi.as_view(), name="import-batch-list"),
    path("import-batches/<uuid:batch_id>", apis.ImportBatchDetailApi.as_view(), name="import-batch-detail"),
]
