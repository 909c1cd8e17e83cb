from django.urls import path

from . import apis

urlpatterns = [
    path("reconcile", apis.ReconcileApi.as_view(), name="reconcile"),
    path("reconcile/backtest", apis.BacktestApi.as_view(), name="reconcile-backtest"),
    path("reconcile/explain", apis.ExplainApi.as_view(), name="reconcile-explain"),
    path("matches", apis.MatchListApi.as_view(), name="match-list"),
    path("matches/<uuid:match_id>", apis.MatchDetailApi.as_view(), name="match-detail"),
    path(
        "matches/<uuid:match_id>/allocations",
        apis.MatchAllocationListApi.as_view(),
        name="match-allocation-list",
    ),
    path("matches/<uuid:match_id>/confirm", apis.MatchConfirmApi.as_view(), name="match-confirm"),
    path("matches/<uuid:match_id>/reject", apis.MatchRejectApi.as_view(), name="match-reject"),
    path("matches/<uuid:match_id>/undo", apis.MatchUndoApi.as_view(), name="match-undo"),
    path("reconciliation-runs", apis.RunListApi.as_view(), name="run-list"),
    path("reconciliation-runs/<uuid:run_id>", apis.RunDetailApi.as_view(), name="run-detail"),
]
