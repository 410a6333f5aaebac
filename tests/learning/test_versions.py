"""Network versions as data: the committed networks as first versions, promotion and rollback, the
worker switching version between chunks, refusals of fine-tuning, re-reading (no training here)."""

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from learning import services
from learning.models import FineTune, ModelVersion
from tests.factories import digit_png, make_zip, number_png
from uploads import services as upload_services
from uploads.models import Image, Job
from worker import model, tasks

pytestmark = pytest.mark.django_db
OTHER_DIGIT_NETWORK = Path(settings.BASE_DIR) / "ml" / "artifacts" / "loso" / "digits.tflite"


COMMITTED_NETWORKS = (settings.OCR_MODEL_PATH, settings.OCR_LINE_MODEL_PATH)


@pytest.fixture(autouse=True)
def committed_networks_after(tmp_path, monkeypatch):
    """Versions fetched into a folder of the test's own; tests that switch the process's network
    leave the committed ones loaded behind them (by path: a test may have patched the settings)."""
    monkeypatch.setattr(settings, "OCR_MODEL_CACHE_DIR", tmp_path / "models")
    yield
    model.load_classifier(COMMITTED_NETWORKS[0])
    model.load_line_reader(COMMITTED_NETWORKS[1])


@pytest.fixture
def job(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{digit}.png": digit_png(digit, size=48) for digit in range(10)}
    job = upload_services.create_job(upload=SimpleUploadedFile("d.zip", make_zip(members)))
    upload_services.expand_zip_job(job_id=job.id)
    return job


def other_version() -> ModelVersion:
    return services.store_version(
        kind=ModelVersion.Kind.DIGIT,
        network=OTHER_DIGIT_NETWORK.read_bytes(),
        keras=None,
        trained_from={"test": "leave-one-source-out network"},
        figures={},
    )


def read_job(job) -> None:
    tasks.classify_chunk.run(str(job.id), list(job.images.values_list("id", flat=True)))


def test_the_committed_networks_are_the_first_versions_stored_through_the_storage_api():
    first = services.ensure_bundled_versions()
    assert services.ensure_bundled_versions() == first, "registered once"
    digit, line = first[ModelVersion.Kind.DIGIT], first[ModelVersion.Kind.LINE]
    assert digit.is_current and line.is_current and digit.status == "promoted"
    assert digit.version == model.get_classifier().version and line.version == model.get_line_reader().version
    with digit.network.open("rb") as stored:
        assert stored.read() == Path(settings.OCR_MODEL_PATH).read_bytes()
    assert digit.keras.name.endswith(".keras") and line.keras.name.endswith(".weights.h5"), "what fine-tunes start from"
    with line.keras.open("rb") as stored:
        assert stored.read() == Path(settings.OCR_LINE_MODEL_PATH).with_suffix(".weights.h5").read_bytes()
    assert digit.figures["validation"]["accuracy"] > 0.9


def test_promotion_and_rollback_keep_one_current_version_per_kind():
    bundled = services.ensure_bundled_versions()[ModelVersion.Kind.DIGIT]
    admin = User.objects.create_superuser("admin", "a@example.com", "pw")
    other = services.promote(other_version(), user=admin)
    assert list(ModelVersion.objects.filter(kind="digit", is_current=True)) == [other]
    assert other.promoted_by == admin
    services.promote(bundled)
    assert list(ModelVersion.objects.filter(kind="digit", is_current=True)) == [bundled]
    assert ModelVersion.objects.filter(kind="line", is_current=True).count() == 1


def test_a_worker_reads_the_next_chunk_with_the_version_promoted_meanwhile(job):
    bundled = services.ensure_bundled_versions()[ModelVersion.Kind.DIGIT]
    read_job(job)
    assert set(job.images.values_list("model_version", flat=True)) == {bundled.version}

    other = services.promote(other_version())
    assert other.version != bundled.version
    upload_services.reread_job(job_id=job.id)
    read_job(job)
    assert set(job.images.values_list("model_version", flat=True)) == {other.version}
    assert sum(image.digit == int(image.name[0]) for image in job.images.all()) >= 9


def test_rereading_keeps_corrections_and_can_take_only_flagged_results(job):
    read_job(job)
    first, second = job.images.order_by("position")[:2]
    Image.objects.filter(id=first.id).update(corrected_label=8, needs_review=True)
    Job.objects.filter(id=job.id).update(flagged=1)
    assert upload_services.reread_job(job_id=job.id, flagged_only=True) == 1
    job.refresh_from_db()
    assert (job.status, job.processed, job.flagged) == ("running", 9, 0)
    assert job.images.get(id=first.id).status == "pending" and job.images.get(id=second.id).status == "done"
    read_job(job)
    job.refresh_from_db()
    reread = job.images.get(id=first.id)
    assert (job.status, job.processed) == ("done", 10)
    assert reread.status == "done" and reread.corrected_label == 8 and reread.label == 8


@pytest.mark.parametrize(
    "held_out, base, promoted",
    [
        ((0.60, 0.90), (0.990, 0.988), True),  # better on corrections, within the margin on the base
        ((0.60, 0.90), (0.990, 0.980), False),  # better on corrections, worse on the base
        ((0.90, 0.90), (0.990, 0.995), False),  # not better on corrections
    ],
)
def test_a_candidate_is_promoted_only_when_better(held_out, base, promoted):
    figures = {
        "margin": 0.005,
        "corrections_held_out": {"images": 40, "current": held_out[0], "candidate": held_out[1]},
        "base_validation": {"images": 1500, "current": base[0], "candidate": base[1]},
    }
    assert services.is_better(figures) is promoted


def test_the_corrections_kept_aside_are_a_fixed_fifth():
    aside = [services.is_held_out(image_id) for image_id in range(1, 2001)]
    assert 0.15 < sum(aside) / len(aside) < 0.25
    assert aside == [services.is_held_out(image_id) for image_id in range(1, 2001)]


def test_fine_tuning_needs_corrections_and_one_run_at_a_time(job, monkeypatch, django_capture_on_commit_callbacks):
    with pytest.raises(services.LearningError, match="too few corrections"):
        services.start_fine_tune()
    monkeypatch.setattr(services, "MIN_CORRECTIONS", 5)
    job.images.update(corrected_label=3)
    queued = []
    monkeypatch.setattr(services, "_queue_fine_tune", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_fine_tune(options={"epochs": 2, "unknown": 1})
    assert queued == [run.id] and run.status == "queued" and run.figures["options"] == {"epochs": 2}
    with pytest.raises(services.LearningError, match="already queued"):
        services.start_fine_tune()
    FineTune.objects.filter(id=run.id).update(created_at=timezone.now() - timedelta(hours=2))  # its worker died
    with django_capture_on_commit_callbacks(execute=True):
        services.start_fine_tune()
    stalled = FineTune.objects.get(id=run.id)
    assert stalled.status == "failed" and "no result after" in stalled.error and len(queued) == 2


@pytest.fixture
def number_job(monkeypatch):
    monkeypatch.setattr(upload_services, "_queue_classification", lambda job_id, ids: None)
    members = {f"{index}.png": number_png(f"{index}0{index}") for index in range(1, 5)}
    upload = SimpleUploadedFile("n.zip", make_zip(members))
    job = upload_services.create_job(upload=upload, mode=Job.Mode.NUMBER)
    upload_services.expand_zip_job(job_id=job.id)
    return job


def test_the_line_reader_learns_from_corrected_lines_and_the_digit_network_from_corrected_digits(job, number_job):
    Job.objects.filter(id=job.id).update(mode=Job.Mode.DIGIT)
    digit_job_image = job.images.get(name="4.png")
    upload_services.correct_result(image=digit_job_image, text="4")
    upload_services.correct_result(image=job.images.get(name="5.png"), text="55")  # a number in digit mode
    line, one_digit, too_long = number_job.images.order_by("position")[:3]
    upload_services.correct_result(image=line, text="10.1")
    upload_services.correct_result(image=one_digit, text="7")
    upload_services.correct_result(image=too_long, text="1" * 17)  # longer than the reader reads

    assert [image.id for image in services.corrected_digits()] == [digit_job_image.id, one_digit.id]
    assert [image.id for image in services.corrected_lines()] == [line.id, one_digit.id]
    assert services.correction_counts() == {"digit": 2, "line": 2}
    ids, inputs, texts = services.line_correction_inputs()
    assert ids == [line.id, one_digit.id] and inputs.shape == (2, 32, 256) and inputs.dtype == np.uint8
    assert list(texts) == ["10.1", "7"]


def test_a_line_fine_tune_is_asked_for_with_its_kind(number_job, monkeypatch, django_capture_on_commit_callbacks):
    staff = APIClient()
    staff.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    refused = staff.post("/api/models/fine-tune/", {"kind": "line"}, format="json")
    assert refused.status_code == 409 and "0 of lines" in refused.json()["detail"]
    assert staff.post("/api/models/fine-tune/", {"kind": "word"}, format="json").status_code == 400

    monkeypatch.setattr(services, "MIN_CORRECTIONS", 4)
    for image in number_job.images.all():
        upload_services.correct_result(image=image, text="12.5")
    monkeypatch.setattr(services, "_queue_fine_tune", lambda run_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        started = staff.post("/api/models/fine-tune/", {"kind": "line", "epochs": 2}, format="json")
    assert started.status_code == 202 and started.json()["kind"] == "line"
    assert FineTune.objects.get(id=started.json()["id"]).figures["options"] == {"epochs": 2}


def test_the_models_api_and_page_are_for_staff_only(client):
    api = APIClient()
    assert api.get("/api/models/").status_code in (401, 403)
    assert api.post("/api/models/fine-tune/", {}, format="json").status_code in (401, 403)
    assert client.get("/models/").status_code == 302
    admin = User.objects.create_superuser("admin", "a@example.com", "pw")
    api.force_authenticate(admin)
    client.force_login(admin)
    versions = api.get("/api/models/").json()
    rows = versions["results"] if isinstance(versions, dict) else versions
    assert {row["kind"] for row in rows if row["is_current"]} == {"digit", "line"}
    refused = api.post("/api/models/fine-tune/", {}, format="json")
    assert refused.status_code == 409 and "too few corrections" in refused.json()["detail"]
    other = other_version()
    promoted = api.post(f"/api/models/{other.id}/promote/")
    assert promoted.status_code == 200 and promoted.json()["is_current"] and promoted.json()["promoted_by"] == "admin"
    page = client.get("/models/")
    assert page.status_code == 200 and other.version.encode() in page.content
    assert FineTune.objects.count() == 0


def test_a_newly_shipped_network_becomes_current_and_a_rollback_survives_restarts(monkeypatch, tmp_path):
    first = services.ensure_bundled_versions()[ModelVersion.Kind.DIGIT]
    services.promote(other_version())  # staff chose another version: a restart keeps their choice
    assert services.ensure_bundled_versions()[ModelVersion.Kind.DIGIT] == first
    assert ModelVersion.objects.get(kind="digit", is_current=True).version != first.version

    shipped = tmp_path / "digits.tflite"
    shipped.write_bytes(OTHER_DIGIT_NETWORK.read_bytes() + b"\0")  # a deployment ships a new file
    monkeypatch.setattr(settings, "OCR_MODEL_PATH", str(shipped))
    model.record_committed_networks()
    current = ModelVersion.objects.get(kind="digit", is_current=True)
    assert current.trained_from == {"bundled": "digits.tflite"}
    assert current.version == services.artifact_version(shipped.read_bytes())


def test_a_correction_that_breaks_the_preprocessing_is_left_out_of_fine_tuning(job, monkeypatch):
    corrected = list(job.images.order_by("position")[:3])
    Image.objects.filter(id__in=[image.id for image in corrected]).update(corrected_label=5)
    prepare = services.to_network_input
    breaking = {corrected[1].id}
    reading = iter(image.id for image in services.corrected_images())

    def breaks_on_one(picture):
        if next(reading) in breaking:
            raise ZeroDivisionError("a picture nobody foresaw")
        return prepare(picture)

    monkeypatch.setattr(services, "to_network_input", breaks_on_one)
    ids, inputs, labels = services.correction_inputs()
    assert ids == [corrected[0].id, corrected[2].id] and inputs.shape == (2, 28, 28) and list(labels) == [5, 5]


def test_a_public_instance_learns_only_from_signed_in_users_corrections(job, settings):
    by_anonymous, by_user = job.images.order_by("position")[:2]
    user = User.objects.create_user("reviewer", password="pw-of-the-reviewer")
    Image.objects.filter(id=by_anonymous.id).update(corrected_label=3)
    Image.objects.filter(id=by_user.id).update(corrected_label=4, corrected_by=user)
    assert [image.id for image in services.corrected_images()] == [by_anonymous.id, by_user.id]

    settings.OCR_LEARN_FROM_ANONYMOUS = False
    assert [image.id for image in services.corrected_images()] == [by_user.id]
    ids, _, labels = services.correction_inputs()
    assert ids == [by_user.id] and list(labels) == [4]


def test_a_fine_tune_may_outlast_other_tasks_and_ends_before_its_run_is_taken_for_dead():
    from learning.tasks import fine_tune

    assert settings.CELERY_TASK_TIME_LIMIT < fine_tune.soft_time_limit < fine_tune.time_limit
    assert fine_tune.time_limit < settings.OCR_FINE_TUNE_STALL_SECONDS


def test_a_fine_tune_does_not_undo_a_promotion_made_while_it_ran():
    base = services.ensure_bundled_versions()[ModelVersion.Kind.DIGIT]
    chosen_by_staff = services.promote(other_version())
    candidate = services.store_version(
        kind=ModelVersion.Kind.DIGIT,
        network=OTHER_DIGIT_NETWORK.read_bytes() + b"a fine-tune's candidate",
        keras=None,
        trained_from={"test": "a candidate"},
        figures={},
    )
    assert services.promote(candidate, replacing=base) is None
    assert services.current_versions()[ModelVersion.Kind.DIGIT].id == chosen_by_staff.id
    assert services.promote(candidate, replacing=chosen_by_staff).is_current
