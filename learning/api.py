"""Staff only: the network versions, fine-tuning runs, and promotion (or rollback) by hand."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from learning import services
from learning.models import FineTune, ModelVersion
from learning.serializers import FineTuneRequestSerializer, FineTuneSerializer, ModelVersionSerializer
from recognition.openapi import ErrorSerializer


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every network version, newest first; the current one of each kind has `is_current`."""

    serializer_class = ModelVersionSerializer
    permission_classes = [IsAdminUser]
    queryset = ModelVersion.objects.select_related("promoted_by")

    def list(self, request, *args, **kwargs):
        services.ensure_bundled_versions()
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: ModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Make this version the current one of its kind (rolling back is promoting an older one);
        workers use it from their next chunk."""
        version = services.promote(self.get_object(), user=request.user)
        return Response(self.get_serializer(version).data)


class FineTuneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Fine-tuning runs and their progress."""

    serializer_class = FineTuneSerializer
    permission_classes = [IsAdminUser]
    queryset = FineTune.objects.select_related("base", "candidate")


class FineTuneStartView(GenericAPIView):
    serializer_class = FineTuneRequestSerializer
    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]

    @extend_schema(
        request=FineTuneRequestSerializer,
        responses={202: FineTuneSerializer, 409: OpenApiResponse(ErrorSerializer, description="cannot start")},
    )
    def post(self, request):
        """Fine-tune the current network of `kind` (digit or line) on every correction of that kind so
        far, in the `training` queue; the candidate is promoted only if it reads the corrections kept
        aside better and the base validation sample no worse (within OCR_PROMOTION_MARGIN)."""
        asked = FineTuneRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        options = dict(asked.validated_data)
        kind = options.pop("kind")
        try:
            run = services.start_fine_tune(kind=kind, user=request.user, options=options)
        except services.LearningError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(FineTuneSerializer(run).data, status=status.HTTP_202_ACCEPTED)
