"""What the OpenAPI schema says beyond what drf-spectacular reads from the views: the error answers
that follow from rules of the whole API rather than from one view, and links from a created job to
its endpoints (documentation for people; schemathesis follows them to test real ids).

Answers one view gives (409 on cancel, 429 on upload, ...) are declared on that view."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    PolymorphicProxySerializer,
    inline_serializer,
)
from rest_framework import serializers

from recognition.serializers import DigitCorrectionSerializer, JobCreateSerializer, LineCorrectionSerializer

ErrorSerializer = inline_serializer("Error", fields={"detail": serializers.CharField()})

THROTTLED = OpenApiResponse(
    ErrorSerializer, description="Too many uploads (OCR_UPLOAD_RATE): try again after Retry-After"
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    location=OpenApiParameter.HEADER,
    response=[429],
    required=True,
    description="Seconds to wait before the next upload is taken",
)
# What the job page polls answers conditionally: an ETag on every 200, an empty 304 when the request's
# If-None-Match already names it.
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    location=OpenApiParameter.HEADER,
    description="The ETag of the answer the client holds: an unchanged answer is then an empty 304",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    location=OpenApiParameter.HEADER,
    response=[200, 304],
    required=True,
    description="The answer's version",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: the If-None-Match named the current ETag")

FIELD_ERRORS = OpenApiResponse(
    {
        "type": "object",
        "description": "Each invalid field or parameter with what is wrong with it; `detail` for a body that "
        "cannot be read",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="An invalid field or parameter",
)

# The API tells images from zips by their content, never by the declared type: any format Pillow
# recognises is taken; these are the usual ones.
UPLOAD_MEDIA_TYPES = "image/png, image/jpeg, image/gif, image/bmp, image/tiff, image/webp, application/zip"
UPLOAD = OpenApiRequest(JobCreateSerializer, encoding={"file": {"contentType": UPLOAD_MEDIA_TYPES}})
BAD_UPLOAD = OpenApiResponse(
    ErrorSerializer,
    description="The upload is refused, `detail` says why: no file, neither an image nor a zip, empty, corrupt, "
    "too large, a zip with no image or too many members, or a field out of its range",
)

EXPORT_ROWS = inline_serializer(
    "ExportRow",
    many=True,
    fields={
        "name": serializers.CharField(),
        "status": serializers.CharField(),
        "digit": serializers.IntegerField(allow_null=True),
        "text": serializers.CharField(),
        "confidence": serializers.FloatField(allow_null=True),
        "flagged": serializers.BooleanField(),
        "corrected_label": serializers.IntegerField(allow_null=True),
        "error": serializers.CharField(),
        "model_version": serializers.CharField(),
    },
)

ERROR_REF = {"$ref": "#/components/schemas/Error"}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
JOB_PATH = "/api/jobs/{id}/"

# (status, description, applies to an operation given its path, method and definition)
RULES = [
    (
        "401",
        "An `Authorization: Token ...` header that names no active token (or an anonymous upload under "
        "OCR_REQUIRE_LOGIN)",
        lambda path, method, op: True,
    ),
    (
        "403",
        "A session-authenticated request without its CSRF token",
        lambda path, method, op: method in UNSAFE_METHODS,
    ),
    (
        "404",
        "No such job (or result), or not yours; an id that is not a UUID",
        lambda path, method, op: "{id}" in path,
    ),
    (
        "415",
        "A request body in a media type the operation does not read",
        lambda path, method, op: "requestBody" in op,
    ),
]


# A correction is one of these: no other property allowed, so that a body is exactly one of them.
CLOSED_REQUESTS = ("DigitCorrectionRequest", "LineCorrectionRequest")
REQUIRED_BODY = {"$ref": "#/components/schemas/CorrectionRequest"}  # drf-spectacular leaves a oneOf optional


def declare_errors_and_links(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error", {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    )
    for name in CLOSED_REQUESTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    for path, method, operation in operations(result):
        body = operation.get("requestBody", {})
        if any(media.get("schema") == REQUIRED_BODY for media in body.get("content", {}).values()):
            body["required"] = True
        for code, description, applies in RULES:
            if applies(path, method, operation):
                operation["responses"].setdefault(code, error_response(description))
    add_links(result)
    return result


def operations(result):
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield path, method, operation


def error_response(description: str) -> dict:
    return {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}


def add_links(result) -> None:
    """From the created job to every operation on it, and from a results page to a result's correction."""
    by_id = {operation["operationId"]: (path, operation) for path, _, operation in operations(result)}
    created = by_id.get("jobs_create")
    if created is not None:
        links = created[1]["responses"]["201"].setdefault("links", {})
        for operation_id, (path, _) in by_id.items():
            if path.startswith(JOB_PATH) and path_parameters(path) == ["id"]:
                links[operation_id] = {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}}
    results, correct = by_id.get("jobs_results_list"), by_id.get("jobs_results_partial_update")
    if results is not None and correct is not None:
        results[1]["responses"]["200"].setdefault("links", {})[correct[1]["operationId"]] = {
            "operationId": correct[1]["operationId"],
            "parameters": {"id": "$request.path.id", "result_id": "$response.body#/results/0/id"},
        }


def path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


CORRECTION = PolymorphicProxySerializer(
    component_name="Correction",
    serializers=[DigitCorrectionSerializer, LineCorrectionSerializer],
    resource_type_field_name=None,
)
