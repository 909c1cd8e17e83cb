from django.urls import path

from . import apis

urlpatterns = [
    path("tenants", apis.TenantListCreateApi.as_view(), name="tenant-list"),
    path("tenants/<uuid:tenant_id>", apis.TenantDetailApi.as_view(), name="tenant-detail"),
    path("tenants/<uuid:tenant_id>/settings", apis.TenantSettingsApi.as_view(), name="tenant-settings"),
    path("tenants/<uuid:tenant_id>/members", apis.MemberListCreateApi.as_view(), name="member-list"),
    path(
        "tenants/<uuid:tenant_id>/members/<int:user_id>",
        apis.MemberDeleteApi.as_view(),
        name="member-delete",
    ),
    path(
        "tenants/<uuid:tenant_id>/invitations", apis.InvitationListCreateApi.as_view(), name="invitation-list"
    ),
    path(
        "tenants/<uuid:tenant_id>/invitations/<uuid:invitation_id>",
        apis.InvitationRevokeApi.as_view(),
        name="invitation-revoke",
    ),
    path("invitations", apis.ReceivedInvitationListApi.as_view(), name="received-invitation-list"),
    path(
        "invitations/<uuid:invitation_id>/accept",
        apis.ReceivedInvitationDecisionApi.as_view(decision="accept"),
        name="received-invitation-accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline",
        apis.ReceivedInvitationDecisionApi.as_view(decision="decline"),
        name="received-invitation-decline",
    ),
]
