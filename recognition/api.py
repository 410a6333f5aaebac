from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from recognition import conditional, exports, selectors
from recognition.openapi import (
    BAD_UPLOAD,
    CORRECTION,
    ETAG,
    EXPORT_ROWS,
    FIELD_ERRORS,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    RETRY_AFTER,
    THROTTLED,
    UPLOAD,
    ErrorSerializer,
)
from recognition.pagination import JobsPagination, ResultsPagination
from recognition.serializers import (
    CorrectionSerializer,
    JobCreateSerializer,
    JobSerializer,
    RereadSerializer,
    ResultSerializer,
    results_data,
)
from recognition.throttling import UploadRateThrottle
from uploads.deletion import delete_job
from uploads.ingestion import UploadError
from uploads.services import JobNotEnded, cancel_job, correct_result, create_job, reread_job

# The job page asks for these every second while a job runs.
POLLED_ACTIONS = {"retrieve", "results"}
# The answers that are pages; the exports stream every row, the other actions answer one job or result.
PAGINATION_BY_ACTION = {"list": JobsPagination, "results": ResultsPagination}

NO_SUCH_PAGE = OpenApiResponse(
    ErrorSerializer, description="No such page: past the last one, or `page` is not a whole number from 1"
)


@extend_schema_view(
    list=extend_schema(
        description="The caller's jobs, newest first, a page at a time (none for an anonymous caller).",
        responses={200: JobSerializer(many=True), 400: FIELD_ERRORS, 404: NO_SUCH_PAGE},
    )
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs: create one from an upload, follow its status, read, review and export its results."""

    serializer_class = JobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    lookup_value_converter = "uuid"
    etag = None  # of the polled answer being built: see not_modified_since

    @property
    def pagination_class(self):
        # Chosen per action in PAGINATION_BY_ACTION (not in @action: this has no setter). DRF and
        # drf-spectacular both read it here; as a class attribute it would document the exports as pages.
        return PAGINATION_BY_ACTION.get(getattr(self, "action", None))

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

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        built = isinstance(response, Response)  # not a shared answer
        if self.action in POLLED_ACTIONS and built and response.status_code == status.HTTP_200_OK:
            return not_modified_or(request, response, etag=self.etag)
        return response

    def not_modified_since(self, etag: str | None):
        """The 304 when the client already holds the answer under this ETag, or that answer when another
        client had it built; else None, and the answer then built is sent and shared under this ETag
        (None: sent under the MD5 of its body)."""
        self.etag = etag
        if etag is None:
            return None
        return conditional.not_modified(self.request, etag=etag) or conditional.shared_answer(etag=etag)

    @extend_schema(parameters=[IF_NONE_MATCH, ETAG], responses={200: JobSerializer, 304: NOT_MODIFIED})
    def retrieve(self, request, pk=None):
        job = self.get_object()
        held = self.not_modified_since(conditional.status_etag(job=job, request=request))
        return held or Response(self.get_serializer(job).data)

    @extend_schema(
        request={"multipart/form-data": UPLOAD},
        parameters=[RETRY_AFTER],
        responses={201: JobSerializer, 400: BAD_UPLOAD, 429: THROTTLED},
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

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted, with its results and every file it stored"),
            404: OpenApiResponse(ErrorSerializer, description="No such job, or not yours"),
        },
    )
    def destroy(self, request, pk=None):
        """Delete the job, its results and every file it stored; a running job is stopped first."""
        job = selectors.get_job_to_delete(job_id=self.kwargs["pk"], user=request.user)
        delete_job(job_id=job.id)
        return Response(status=status.HTTP_204_NO_CONTENT)

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
        request=RereadSerializer,
        responses={200: JobSerializer, 400: FIELD_ERRORS, 409: OpenApiResponse(ErrorSerializer)},
    )
    @action(detail=True, methods=["post"], serializer_class=RereadSerializer, parser_classes=[JSONParser])
    def reread(self, request, pk=None):
        """Read the job's images again with the current network versions (after a promotion), or only
        its flagged results; corrected results keep the person's label."""
        job = self.get_object()
        options = RereadSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        try:
            reread_job(job_id=job.id, flagged_only=options.validated_data["flagged_only"])
        except JobNotEnded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        job.refresh_from_db()
        return Response(JobSerializer(job, context={"request": request}).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "needs_review",
                str,
                description="`true` (or `1`, `yes`): only flagged results, least confident first; else every result",
            ),
            IF_NONE_MATCH,
            ETAG,
        ],
        responses={200: ResultSerializer(many=True), 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    @action(detail=True, serializer_class=ResultSerializer)
    def results(self, request, pk=None):
        job = self.get_object()
        if held := self.not_modified_since(conditional.results_page_etag(job=job, request=request)):
            return held
        needs_review = request.query_params.get("needs_review", "").lower() in {"1", "true", "yes"}
        page = self.paginate_queryset(selectors.job_results(job=job, needs_review=needs_review))
        return self.get_paginated_response(results_data(page, job_id=job.id))

    @extend_schema(request=CORRECTION, responses={200: ResultSerializer, 400: FIELD_ERRORS})
    @action(
        detail=True,
        methods=["patch"],
        url_path="results/<int:result_id>",
        serializer_class=CorrectionSerializer,
    )
    def correct(self, request, pk=None, result_id=None):
        """Correct one result with the digit (`label`) or the line (`text`) the image really shows: the
        prediction is kept beside the correction, with who made it and when."""
        job = self.get_object()
        correction = CorrectionSerializer(data=request.data)
        correction.is_valid(raise_exception=True)
        image = selectors.get_result(job=job, result_id=result_id)
        corrector = request.user if request.user.is_authenticated else None
        image = correct_result(image=image, text=correction.corrected_text(), user=corrector)
        return Response(ResultSerializer(image, context={"request": request}).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def results_csv(self, request, pk=None):
        """Every result as CSV, streamed."""
        return export_response(self.get_object(), "csv", exports.csv_lines, "text/csv")

    @extend_schema(responses={(200, "application/json"): EXPORT_ROWS})
    def results_json(self, request, pk=None):
        """Every result as one JSON array, streamed."""
        return export_response(self.get_object(), "json", exports.json_chunks, "application/json")


def bad_request(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)


def not_modified_or(request, response, *, etag: str | None):
    """An empty 304 when the client already holds this content (its If-None-Match names the ETag),
    else the response with its ETag. A poller then downloads and redraws only what changed."""
    if etag is None:
        response.render()
        set_response_etag(response)
        etag = response["ETag"]
    else:  # made before the answer was built: the other pollers get this answer under it
        conditional.share_answer(response, etag=etag)
    conditional.mark_revalidated(response, etag=etag)
    return get_conditional_response(request, etag=etag, response=response)


def export_response(job, extension, render, content_type) -> StreamingHttpResponse:
    response = StreamingHttpResponse(render(selectors.export_rows(job=job)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="job-{job.id}-results.{extension}"'
    return response
