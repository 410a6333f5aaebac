from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from recognition import exports, selectors
from recognition.serializers import (
    CorrectionSerializer,
    JobCreateSerializer,
    JobSerializer,
    ResultSerializer,
)
from recognition.services import correct_result
from recognition.throttling import UploadRateThrottle
from uploads.ingestion import UploadError
from uploads.services import cancel_job, create_job

ErrorSerializer = inline_serializer("Error", fields={"detail": serializers.CharField()})


class ResultsPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs: create one from an upload, follow its status, read, review and export its results."""

    serializer_class = JobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
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
            return bad_request("no file: send an image or a zip in the multipart field 'file'")
        options = JobCreateSerializer(data=request.data)
        if not options.is_valid():
            field, problems = next(iter(options.errors.items()))
            return bad_request(f"{field}: {' '.join(map(str, problems))}")
        owner = request.user if request.user.is_authenticated else None
        choices = {name: value for name, value in options.validated_data.items() if name != "file"}
        try:
            job = create_job(upload=upload, owner=owner, **choices)
        except UploadError as exc:
            return bad_request(str(exc))
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

    @extend_schema(
        parameters=[OpenApiParameter("needs_review", bool, description="Only flagged results, least confident first")],
        responses=ResultSerializer(many=True),
    )
    @action(detail=True, pagination_class=ResultsPagination, serializer_class=ResultSerializer)
    def results(self, request, pk=None):
        job = self.get_object()
        needs_review = request.query_params.get("needs_review", "").lower() in {"1", "true", "yes"}
        page = self.paginate_queryset(selectors.job_results(job=job, needs_review=needs_review))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CorrectionSerializer, responses={200: ResultSerializer})
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"results/(?P<result_id>[0-9]+)",
        serializer_class=CorrectionSerializer,
    )
    def correct(self, request, pk=None, result_id=None):
        """Correct one result: the prediction is kept beside the correction, with who made it and when."""
        job = self.get_object()
        correction = CorrectionSerializer(data=request.data)
        correction.is_valid(raise_exception=True)
        image = selectors.get_result(job=job, result_id=result_id)
        corrector = request.user if request.user.is_authenticated else None
        image = correct_result(image=image, label=correction.validated_data["label"], user=corrector)
        return Response(ResultSerializer(image, context={"request": request}).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def results_csv(self, request, pk=None):
        """Every result as CSV, streamed."""
        return export_response(self.get_object(), "csv", exports.csv_lines, "text/csv")

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def results_json(self, request, pk=None):
        """Every result as one JSON array, streamed."""
        return export_response(self.get_object(), "json", exports.json_chunks, "application/json")


def bad_request(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)


def export_response(job, extension, render, content_type) -> StreamingHttpResponse:
    response = StreamingHttpResponse(render(selectors.export_rows(job=job)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="job-{job.id}-results.{extension}"'
    return response
