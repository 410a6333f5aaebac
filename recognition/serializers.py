import json

from django.conf import settings
from django.core.validators import RegexValidator
from django.urls import reverse
from rest_framework import serializers

from recognition.callbacks import CallbackRefused, check_callback_url
from uploads.models import CORRECTED_TEXT, CallbackStatus, Image, Job


class JobSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="upload_name", read_only=True)
    url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    cancel_url = serializers.SerializerMethodField()
    callback_url = serializers.CharField(read_only=True, help_text="Empty when the job has no callback.")
    callback_status = serializers.ChoiceField(
        choices=CallbackStatus.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty when the job has no callback.",
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "status",
            "kind",
            "mode",
            "name",
            "total",
            "processed",
            "failed",
            "flagged",
            "error",
            "review_threshold",
            "keep_separators",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "results_url",
            "page_url",
            "cancel_url",
            "callback_url",
            "callback_status",
            "callback_attempts",
            "callback_error",
            "callback_delivered_at",
        ]
        read_only_fields = fields

    def _absolute(self, path) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, job) -> str:
        return self._absolute(reverse("api:job-detail", args=[job.id]))

    def get_results_url(self, job) -> str:
        return self._absolute(reverse("api:job-results", args=[job.id]))

    def get_page_url(self, job) -> str:
        return self._absolute(reverse("recognition:job", args=[job.id]))

    def get_cancel_url(self, job) -> str:
        return self._absolute(reverse("api:job-cancel", args=[job.id]))


class JobCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "One image or one .zip of images (folders inside are fine), told apart by their content: PNG, JPEG, "
            "GIF, BMP, TIFF, WebP or any other format Pillow reads. Refused with a 400: anything else (text, SVG, "
            f"HTML), an empty file, more than {settings.OCR_MAX_UPLOAD_BYTES} bytes (OCR_MAX_UPLOAD_BYTES), an "
            f"image of more than {2 * settings.OCR_MAX_IMAGE_PIXELS} pixels, an empty or corrupt zip, a zip of more "
            f"than {settings.OCR_MAX_ZIP_MEMBERS} members (OCR_MAX_ZIP_MEMBERS). Members that cannot be read are "
            "reported per image instead."
        )
    )
    mode = serializers.ChoiceField(
        choices=Job.Mode.choices,
        required=False,
        help_text="digit: one digit per image; number: a line of digits per image; auto (default): chosen per image.",
    )
    review_threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Results less confident than this are flagged for review (default OCR_REVIEW_THRESHOLD).",
    )
    keep_separators = serializers.BooleanField(
        required=False,
        help_text="Lines (number and auto modes): true (default) keeps the decimal point, comma and minus sign in a "
        'result\'s text ("19277.7"); false gives the digits alone ("192777"), their confidence the digits\' alone.',
    )
    callback_url = serializers.URLField(
        required=False,
        max_length=2000,
        trim_whitespace=False,
        validators=[RegexValidator(r"^[Hh][Tt][Tt][Pp][Ss]?://", message="callback_url must be an http or https URL")],
        help_text=(
            "Receives the job's status JSON, signed, when the job ends. Its host must resolve to a public "
            "address (unless OCR_CALLBACK_ALLOW_PRIVATE), else the upload is refused with a 400."
        ),
    )

    def to_internal_value(self, data):
        # A form's fields are read like JSON's: an empty `mode=` is refused like any other wrong value,
        # instead of being taken for a field left out (DRF's rule for HTML forms).
        return super().to_internal_value(data.dict() if hasattr(data, "getlist") else data)

    def validate_callback_url(self, url):
        try:
            check_callback_url(url)
        except CallbackRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return url


class DigitCorrectionSerializer(serializers.Serializer):
    label = serializers.IntegerField(min_value=0, max_value=9, help_text="The digit the image really shows.")


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField also takes numbers, which the schema (type: string) does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class LineCorrectionSerializer(serializers.Serializer):
    text = StrictCharField(
        max_length=64,
        allow_blank=True,
        validators=[CORRECTED_TEXT],
        help_text="The line the image really shows: its digits, with the decimal point, comma or minus sign "
        "where it has them. One digit is the same as `label`; an empty text takes the correction back.",
    )


class CorrectionSerializer(DigitCorrectionSerializer, LineCorrectionSerializer):
    """Either `label` or `text` (the schema: one of DigitCorrection and LineCorrection)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def validate(self, data):
        if unknown := sorted(set(self.initial_data) - set(self.fields) - {"csrfmiddlewaretoken"}):  # a form's
            raise serializers.ValidationError(f"Unknown field: {', '.join(unknown)}.")
        if ("label" in data) == ("text" in data):
            raise serializers.ValidationError("Give either `label` (a digit) or `text` (a line of digits).")
        return data

    def corrected_text(self) -> str:
        data = self.validated_data
        return data["text"] if "text" in data else str(data["label"])


class TopSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    probability = serializers.FloatField()


class DigitReadingSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    confidence = serializers.FloatField()
    box = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="[left, top, right, bottom]"
    )


class ResultSerializer(serializers.ModelSerializer):
    top = TopSerializer(many=True, allow_null=True)
    digits = DigitReadingSerializer(many=True, allow_null=True)
    thumbnail_url = serializers.SerializerMethodField()
    corrected_by = serializers.CharField(source="corrected_by.username", default=None, read_only=True, allow_null=True)
    label = serializers.IntegerField(read_only=True, allow_null=True, help_text="The correction, else the prediction.")

    class Meta:
        model = Image
        fields = [
            "id",
            "position",
            "name",
            "status",
            "digit",
            "confidence",
            "top",
            "text",
            "digits",
            "error",
            "model_version",
            "needs_review",
            "label",
            "corrected_label",
            "corrected_text",
            "corrected_by",
            "corrected_at",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, image) -> str | None:
        if not image.has_picture:
            return None
        return reverse("recognition:thumbnail", args=[image.job_id, image.id])


def results_data(rows, *, job_id) -> list[dict]:
    """ResultSerializer(many=True).data for rows of selectors.job_results, built from their plain
    values: a page of 100 rows took the serializer about 17 ms of field-by-field work and a reverse()
    per thumbnail; the job page asks for it every second while a job runs."""
    rows = list(rows)
    marker = "999999999"
    head, _, tail = reverse("recognition:thumbnail", args=[job_id, int(marker)]).rpartition(marker)
    datetime_text = serializers.DateTimeField().to_representation
    return [
        {
            "id": row["id"],
            "position": row["position"],
            "name": row["name"],
            "status": row["status"],
            "digit": row["digit"],
            "confidence": row["confidence"],
            "top": top,
            "text": row["text"],
            "digits": digits,
            "error": row["error"],
            "model_version": row["model_version"],
            "needs_review": row["needs_review"],
            "label": row["digit"] if row["corrected_label"] is None else row["corrected_label"],
            "corrected_label": row["corrected_label"],
            "corrected_text": row["corrected_text"],
            "corrected_by": row["corrected_by__username"],
            "corrected_at": row["corrected_at"] and datetime_text(row["corrected_at"]),
            "thumbnail_url": f"{head}{row['id']}{tail}" if row["file"] or row["member_offset"] is not None else None,
        }
        for row, (top, digits) in zip(rows, decoded_readings(rows))
    ]


def decoded_readings(rows) -> list[list]:
    """Each row's [top, digits], decoded from their JSON text in one call for the whole page."""
    texts = ",".join(f"[{row['top_json'] or 'null'},{row['digits_json'] or 'null'}]" for row in rows)
    return json.loads(f"[{texts}]")


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: DRF's BooleanField also takes 0, 1, "yes" and the like, which the
    schema (type: boolean) does not allow."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class RereadSerializer(serializers.Serializer):
    flagged_only = StrictBooleanField(
        default=False, help_text="only the results flagged for review (else every stored image of the job)"
    )
