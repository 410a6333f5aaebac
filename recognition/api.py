from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from recognition import selectors
from recognition.throttling import UploadRateThrottle
from recognition.serializers import JobCreateSerializer, JobSerializer, ResultSerializer
from uploads.ingestion import UploadError
from uploads.services import cancel_job, create_job

ErrorSerializer = inline_serializer("Error", fields={"detail": serializers.CharField()})


class ResultsPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs: create one from an upload, follow its status, read its results."""

    serializer_class = JobSerializer
    parser_classes = [MultiPartParser, FormParser]
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self):
        return selectors.jobs_of(user=self.request.user)

    def get_object(self):
        return selectors.get_job(job_id=self.kwargs["pk"], user=self.request.user)

    def get_permissions(self):
        if self.action == "create" and settings.OCR_REQUIRE_LOGIN:
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_throttles(self):
        return [UploadRateThrottle()] if self.action == "create" else []

    @extend_schema(
        request={"multipart/form-data": JobCreateSerializer},
        responses={201: JobSerializer, 400: OpenApiResponse(ErrorSerializer, description="Bad upload")},
    )
    def create(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"detail": "no file: send an image or a zip in the multipart field 'file'"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        owner = request.user if request.user.is_authenticated else None
        try:
            job = create_job(upload=upload, owner=owner)
        except UploadError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobSerializer, 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job that has not ended; images not yet read are skipped."""
        job = self.get_object()
        if not cancel_job(job_id=job.id):
            return Response({"detail": f"the job has already ended ({job.status})"}, status=status.HTTP_409_CONFLICT)
        job.refresh_from_db()
        return Response(self.get_serializer(job).data)

    @extend_schema(responses=ResultSerializer(many=True))
    @action(detail=True, pagination_class=ResultsPagination, serializer_class=ResultSerializer)
    def results(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(selectors.job_results(job=job))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

