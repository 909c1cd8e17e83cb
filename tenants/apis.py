"""Tenants API under /v1: tenants of the caller, their members, settings and invitations."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import CursorPagination, paginated_response
from api.parsers import json_object_body
from api.problems import PROBLEM_400, PROBLEM_403
from api.serializers import ExactDecimalField, StrictFieldsMixin, StrictInputSerializer
from api.views import TenantAPIView, TenantListAPIView
from common import limits

from . import selectors, services
from .authentication import authenticated_user
from .context import require_tenant_id
from .middleware import request_tenant
from .models import Invitation, InvitationStatus, Role, TenantSettings


class TenantOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class TenantListCreateApi(APIView):
    """``GET /v1/tenants`` the caller's tenants; ``POST`` creates one owned by the caller."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "TenantCreate"

        name = serializers.CharField(max_length=limits.NAME)
        default_currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="USD")

    @extend_schema(responses=TenantOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        tenants = selectors.tenants_of_user(user=authenticated_user(request))
        return Response(TenantOutputSerializer(tenants, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TenantOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        tenant = services.tenant_create(owner=authenticated_user(request), **data.validated_data)
        return Response(TenantOutputSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailApi(TenantAPIView):
    """``GET /v1/tenants/{tenant_id}``."""

    @extend_schema(responses=TenantOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(TenantOutputSerializer(request_tenant(request)).data)


class MemberOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user__username")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()


class InviteeField(serializers.CharField):
    """A username or an e-mail address, validated by the service's own rule (one home)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("help_text", "Username or e-mail address of the person to invite.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return services.invitee_normalize(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class InvitationOutputSerializer(serializers.Serializer):
    """An invitation as its tenant's owners see it (no user ids: the invitee may not exist)."""

    id = serializers.UUIDField()
    invitee = serializers.CharField(help_text="Username or e-mail address, as invited (normalised).")
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.ChoiceField(
        choices=InvitationStatus.choices,
        source="effective_status",
        help_text="`expired` once `expires_at` has passed without an answer.",
    )
    invited_by = serializers.CharField(source="invited_by_username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


def _invitation_body(invitation: Invitation) -> dict[str, Any]:
    """The output of a just-written invitation (its status is the stored one)."""
    inviter = invitation.invited_by
    invitation.effective_status = invitation.status  # type: ignore[attr-defined]
    invitation.invited_by_username = inviter.username if inviter else None  # type: ignore[attr-defined]
    return dict(InvitationOutputSerializer(invitation).data)


INVITE_NOTE = (
    "Answers the same whether or not an account with that username or e-mail address exists. "
    "No e-mail is sent: the invitee sees the invitation at `GET /v1/invitations` and accepts or "
    "declines it there. Invitations expire after 14 days; a tenant has at most 100 pending."
)


class MemberListCreateApi(TenantAPIView):
    """``GET/POST /v1/tenants/{tenant_id}/members``: members read; owners invite (202)."""

    write_role = Role.OWNER

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "MemberCreate"

        username = InviteeField(help_text="Username or e-mail address of the person to invite.")
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        members = selectors.members_of_tenant(tenant_id=require_tenant_id())
        return Response(MemberOutputSerializer(members, many=True).data)

    @extend_schema(
        summary="Invite a member (kept for compatibility: same as POST invitations, answers 202)",
        description=INVITE_NOTE,
        request=InputSerializer,
        responses={202: InvitationOutputSerializer, 400: PROBLEM_400, 403: PROBLEM_403},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            invitee=data.validated_data["username"],
            role=data.validated_data["role"],
            invited_by=authenticated_user(request),
        )
        return Response(_invitation_body(invitation), status=status.HTTP_202_ACCEPTED)


class InvitationListCreateApi(TenantListAPIView):
    """``GET/POST /v1/tenants/{tenant_id}/invitations`` (owners only)."""

    read_role = Role.OWNER
    write_role = Role.OWNER

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationFilter"

        status = serializers.ChoiceField(choices=InvitationStatus.choices, required=False)

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "InvitationCreate"

        invitee = InviteeField()
        role = serializers.ChoiceField(choices=Role.choices)

    filter_serializer_class = FilterSerializer
    output_serializer_class = InvitationOutputSerializer
    list_schema = {
        "tags": ["tenants"],
        "summary": "The tenant's invitations (owners)",
        "responses": {400: PROBLEM_400, 403: PROBLEM_403},
    }
    selector = staticmethod(selectors.invitations_of_tenant)

    @extend_schema(
        tags=["tenants"],
        summary="Invite someone into the tenant (owners)",
        description=INVITE_NOTE,
        request=InputSerializer,
        responses={201: InvitationOutputSerializer, 400: PROBLEM_400, 403: PROBLEM_403},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(**data.validated_data, invited_by=authenticated_user(request))
        return Response(_invitation_body(invitation), status=status.HTTP_201_CREATED)


class InvitationRevokeApi(TenantAPIView):
    """``DELETE /v1/tenants/{tenant_id}/invitations/{invitation_id}``: withdraw a pending one."""

    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(tags=["tenants"], summary="Revoke a pending invitation (owners)", responses={204: None})
    def delete(self, request: Request, invitation_id: uuid.UUID) -> Response:
        services.invitation_revoke(invitation_id=invitation_id, actor=authenticated_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReceivedInvitationSerializer(serializers.Serializer):
    """An invitation as its invitee sees it: which tenant, which role, from whom."""

    id = serializers.UUIDField()
    tenant_id = serializers.UUIDField()
    tenant_name = serializers.CharField(source="tenant.name")
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.ChoiceField(choices=InvitationStatus.choices)
    invited_by = serializers.CharField(source="invited_by_username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class ReceivedInvitationListApi(APIView):
    """``GET /v1/invitations``: open invitations addressed to the caller's username or e-mail."""

    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(
        tags=["invitations"],
        summary="Invitations waiting for you",
        responses={200: ReceivedInvitationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        invitations = selectors.invitations_addressed_to(user=authenticated_user(request))
        return paginated_response(self, request, invitations, ReceivedInvitationSerializer)


class ReceivedInvitationDecisionApi(APIView):
    """``POST /v1/invitations/{invitation_id}/accept|decline``: 404 unless it is yours and open."""

    permission_classes = [IsAuthenticated]
    decision = ""

    @extend_schema(tags=["invitations"], request=None, responses={200: ReceivedInvitationSerializer})
    def post(self, request: Request, invitation_id: uuid.UUID) -> Response:
        StrictInputSerializer(data=json_object_body(request, required=False)).is_valid(raise_exception=True)
        decide = services.invitation_accept if self.decision == "accept" else services.invitation_decline
        invitation = decide(invitation_id=invitation_id, user=authenticated_user(request))
        return Response(ReceivedInvitationSerializer(invitation).data)


class MemberDeleteApi(TenantAPIView):
    """``DELETE /v1/tenants/{tenant_id}/members/{user_id}`` (owners only)."""

    write_role = Role.OWNER

    @extend_schema(responses={204: None})
    def delete(self, request: Request, user_id: int) -> Response:
        services.membership_remove(
            tenant_id=require_tenant_id(), user_id=user_id, actor=authenticated_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantSettingsSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Field types, bounds and help texts come from the model (the service validates again);
    decimals are read exactly (no exponent: ``"1.5e3"`` is refused, not taken as 1500)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: ExactDecimalField,
    }

    class Meta:
        model = TenantSettings
        fields = list(services.SETTINGS_FIELDS)
        ref_name = "TenantSettings"


class TenantSettingsApi(TenantAPIView):
    """``GET/PATCH /v1/tenants/{tenant_id}/settings``: members read, owners change."""

    write_role = Role.OWNER

    @extend_schema(
        tags=["tenants"], summary="The tenant's settings", responses={200: TenantSettingsSerializer}
    )
    def get(self, request: Request) -> Response:
        return Response(TenantSettingsSerializer(selectors.tenant_settings_get()).data)

    @extend_schema(
        tags=["tenants"],
        summary="Change the tenant's settings (owners)",
        request=TenantSettingsSerializer(partial=True),
        responses={200: TenantSettingsSerializer, 400: PROBLEM_400, 403: PROBLEM_403},
    )
    def patch(self, request: Request) -> Response:
        data = TenantSettingsSerializer(data=json_object_body(request), partial=True)
        data.is_valid(raise_exception=True)
        row = services.tenant_settings_update(changes=data.validated_data, actor=request.user)
        return Response(TenantSettingsSerializer(row).data)
