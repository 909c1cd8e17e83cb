"""Tenants API under /v1: tenants of the caller and their members."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import limits, selectors, services
from .authentication import authenticated_user
from .context import require_tenant_id
from .middleware import request_tenant
from .models import Role, TenantSettings
from .parsers import json_object_body
from .permissions import TenantRolePermission
from .problems import PROBLEM_400, PROBLEM_403
from .serializers import ExactDecimalField, StrictFieldsMixin, StrictInputSerializer


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


class TenantDetailApi(APIView):
    """``GET /v1/tenants/{tenant_id}``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    @extend_schema(responses=TenantOutputSerializer)
    def get(self, request: Request, tenant_id: Any) -> Response:
        return Response(TenantOutputSerializer(request_tenant(request)).data)


class MemberOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user__username")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()


class MemberListCreateApi(APIView):
    """``GET/POST /v1/tenants/{tenant_id}/members``: owners add existing users by username."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    write_role = Role.OWNER

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "MemberCreate"

        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request: Request, tenant_id: Any) -> Response:
        members = selectors.members_of_tenant(tenant_id=require_tenant_id())
        return Response(MemberOutputSerializer(members, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MemberOutputSerializer})
    def post(self, request: Request, tenant_id: Any) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        membership = services.membership_add(tenant_id=require_tenant_id(), **data.validated_data)
        body = {
            "user_id": membership.user_id,
            "user__username": data.validated_data["username"],
            "role": membership.role,
            "created_at": membership.created_at,
        }
        return Response(MemberOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class MemberDeleteApi(APIView):
    """``DELETE /v1/tenants/{tenant_id}/members/{user_id}`` (owners only)."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    write_role = Role.OWNER

    @extend_schema(responses={204: None})
    def delete(self, request: Request, tenant_id: Any, user_id: int) -> Response:
        services.membership_remove(tenant_id=require_tenant_id(), user_id=user_id)
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


class TenantSettingsApi(APIView):
    """``GET/PATCH /v1/tenants/{tenant_id}/settings``: members read, owners change."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    write_role = Role.OWNER

    @extend_schema(
        tags=["tenants"], summary="The tenant's settings", responses={200: TenantSettingsSerializer}
    )
    def get(self, request: Request, tenant_id: Any) -> Response:
        return Response(TenantSettingsSerializer(selectors.tenant_settings_get()).data)

    @extend_schema(
        tags=["tenants"],
        summary="Change the tenant's settings (owners)",
        request=TenantSettingsSerializer(partial=True),
        responses={200: TenantSettingsSerializer, 400: PROBLEM_400, 403: PROBLEM_403},
    )
    def patch(self, request: Request, tenant_id: Any) -> Response:
        data = TenantSettingsSerializer(data=json_object_body(request), partial=True)
        data.is_valid(raise_exception=True)
        row = services.tenant_settings_update(changes=data.validated_data, actor=request.user)
        return Response(TenantSettingsSerializer(row).data)
