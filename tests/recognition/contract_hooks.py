"""Schemathesis hooks for the contract test (loaded by the CLI through SCHEMATHESIS_HOOKS).

- Uploads: the schema lists the media types the API reads (`encoding.file.contentType` of
  `POST /api/jobs/`). Schemathesis cannot invent a real PNG or zip, so each type gets a strategy
  that makes real digit pictures in it; what is not a picture is covered by the negative phase.
- Form text: a multipart field is text, so a negative case whose only fault is a number sent as the
  string "0.5" reads as valid. Schemathesis sees that itself for plain forms, but not when the form
  carries a file part (it checks the file's bytes as a JSON string): such reports are dropped when
  the form, read as the server reads it, satisfies the schema.
- Callbacks: a generated callback_url would name hosts on the internet, and the worker would POST
  to them when the job ends. Its host is pointed at a closed loopback port instead (the web side of
  the test allows private addresses; the worker still refuses them, so nothing is ever sent).
"""

import io
import json
import zipfile
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.failures import AcceptedNegativeData

from tests.factories import digit_image, encode

PICTURE_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
    "image/webp": "WEBP",
}
CALLBACK_HOST = "127.0.0.1:9"


def pictures(image_format: str):
    return st.builds(
        lambda digit, size, font: encode(digit_image(digit, size=size, font_index=font), image_format),
        st.integers(0, 9),
        st.integers(16, 96),
        st.integers(0, 3),
    )


def zip_of(members: list[bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for index, data in enumerate(members):
            archive.writestr(f"scans/{index:03d}.png", data)
    return output.getvalue()


for media_type, image_format in PICTURE_FORMATS.items():
    schemathesis.openapi.media_type(media_type, pictures(image_format))
schemathesis.openapi.media_type("application/zip", st.lists(pictures("PNG"), min_size=1, max_size=5).map(zip_of))


def loopback(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=CALLBACK_HOST)) if parts.hostname else url


@schemathesis.hook
def before_call(context, case, **kwargs):
    if isinstance(case.body, dict) and isinstance(case.body.get("callback_url"), str):
        try:
            case.body["callback_url"] = loopback(case.body["callback_url"])
        except ValueError:  # not parseable as a URL: sent as generated, and refused
            pass


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if isinstance(failure, AcceptedNegativeData) and case.media_type == "multipart/form-data":
        return not form_reads_as_valid(case)
    return True


def form_reads_as_valid(case) -> bool:
    if not isinstance(case.body, dict):
        return False
    body = case.operation.get_body_for_media_type(case.media_type)
    validator = jsonschema.Draft4Validator(body.optimized_schema)
    properties = body.form_properties
    form = {}
    for name, value in case.body.items():
        if properties.get(name, {}).get("format") == "binary":
            form[name] = ""  # a file part: the server reads it as a file, whatever JSON would make of it
            continue
        readings = text_readings(value)
        form[name] = next((text for text in readings if not errors_at(validator, {**form, name: text}, name)), value)
    return validator.is_valid(form)


def errors_at(validator, form: dict, name: str) -> bool:
    return any(list(error.path)[:1] == [name] for error in validator.iter_errors(form))


def text_readings(value) -> list:
    """What a server may make of a form field: its text, or that text read as a JSON number or boolean."""
    if not isinstance(value, str):
        return [value]
    try:
        return [value, json.loads(value)]
    except ValueError:
        return [value]
