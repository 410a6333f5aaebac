"""Learning from corrections: the committed networks registered as the first versions, fine-tuning
the current network of a kind (digit or line) on every correction of that kind so far, promotion only
when the candidate is better, and promotion or rollback by hand.

A fine-tune runs in the `training` queue's worker, the one process that imports TensorFlow
(`ml.fine_tune`, `ml.fine_tune_lines`); everything else here is cheap enough for the web and the
classifying workers."""

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from learning.models import FineTune, ModelVersion
from ml.lines import MAX_TEXT
from ml.preprocess import DECODER_ERRORS, LINE_HEIGHT, LINE_WIDTH, open_image, to_line_input, to_network_input
from ml.train_lines import weights_path
from uploads.models import Job
from uploads.pictures import picture_bytes
from uploads.services import corrected_images

logger = logging.getLogger(__name__)
HELD_OUT_SHARE = 5  # one correction in five (fixed by its id) is kept aside to judge candidates
MIN_CORRECTIONS = 20
# The card `python -m ml evaluate` (or train-lines) writes beside each kind's network, and its headline.
CARDS = {
    ModelVersion.Kind.DIGIT: ("model_card.json", "overall"),
    ModelVersion.Kind.LINE: ("lines_metrics.json", "validation"),
}
UNFINISHED = (FineTune.Status.QUEUED, FineTune.Status.RUNNING)
FINE_TUNE_OPTIONS = ("epochs", "learning_rate", "replay")  # a staff member may set these for one run
# What a version's trained Keras network is stored as, per kind (Keras loads weights only from *.weights.h5).
KERAS_NAMES = {ModelVersion.Kind.DIGIT: "network.keras", ModelVersion.Kind.LINE: "network.weights.h5"}


class LearningError(ValueError):
    """A request the service refuses; str() is a readable reason."""


# --- versions ------------------------------------------------------------------------------------


def bundled_artifacts() -> dict:
    """The committed networks: kind -> (.tflite path, path of what fine-tuning starts from, or None)."""
    digits, lines = Path(settings.OCR_MODEL_PATH), Path(settings.OCR_LINE_MODEL_PATH)
    return {
        ModelVersion.Kind.DIGIT: (digits, _existing(digits.with_suffix(".keras"))),
        ModelVersion.Kind.LINE: (lines, _existing(weights_path(lines))),
    }


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


def artifact_version(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:12]  # as ml.litert names a loaded network


def ensure_bundled_versions() -> dict:
    """Record each committed network as a version (stored through the storage API, so that workers
    on any host can load it). A committed network not recorded before (the first start, or a
    deployment that ships a new one) becomes the current version of its kind; one recorded before
    stays as staff left it. Every worker process does this when it starts."""
    versions = {}
    for kind, (network, keras) in bundled_artifacts().items():
        content = network.read_bytes()
        version = ModelVersion.objects.filter(kind=kind, version=artifact_version(content)).first()
        if version is None or not ModelVersion.objects.filter(kind=kind, is_current=True).exists():
            version = promote(version or _record_bundled(kind, network, content, keras))
        elif keras and not version.keras:  # recorded before its trained network was shipped beside it
            version.keras.save(KERAS_NAMES[kind], ContentFile(keras.read_bytes()))
        versions[kind] = version
    return versions


def _record_bundled(kind, network: Path, content: bytes, keras: Path | None) -> ModelVersion:
    try:
        with transaction.atomic():
            return store_version(
                kind=kind,
                network=content,
                keras=keras.read_bytes() if keras else None,
                trained_from={"bundled": network.name},
                figures=_bundled_figures(kind, network),
            )
    except IntegrityError:  # another worker process recorded it meanwhile
        return ModelVersion.objects.get(kind=kind, version=artifact_version(content))


def _bundled_figures(kind, network: Path) -> dict:
    """The headline figures of the card committed beside the network, if any."""
    card_name, headline = CARDS[kind]
    card = network.with_name(card_name)
    if not card.exists():
        return {}
    return {"card": card_name, "validation": json.loads(card.read_text()).get(headline)}


def store_version(*, kind, network: bytes, keras: bytes | None, trained_from: dict, figures: dict) -> ModelVersion:
    version = ModelVersion(kind=kind, version=artifact_version(network), trained_from=trained_from, figures=figures)
    version.network.save("network.tflite", ContentFile(network), save=False)
    if keras is not None:
        version.keras.save(KERAS_NAMES[kind], ContentFile(keras), save=False)
    version.save()
    return version


def current_versions() -> dict:
    """kind -> the current ModelVersion, for the kinds that have one (one query)."""
    return {version.kind: version for version in ModelVersion.objects.filter(is_current=True)}


@transaction.atomic
def promote(version: ModelVersion, user=None, *, replacing: ModelVersion | None = None) -> ModelVersion | None:
    """Make `version` the current one of its kind (a rollback is the promotion of an older one);
    workers switch to it before their next chunk. With `replacing`, only while that version is still the
    current one (None if not): a fine-tune must not undo a promotion or rollback made while it ran."""
    versions = list(ModelVersion.objects.select_for_update().filter(kind=version.kind))  # one promotion at a time
    current = next((other for other in versions if other.is_current), None)
    if replacing is not None and (current is None or current.id != replacing.id):
        return None
    ModelVersion.objects.filter(kind=version.kind, is_current=True).update(is_current=False)
    version.is_current, version.status = True, ModelVersion.Status.PROMOTED
    version.promoted_at, version.promoted_by = timezone.now(), user
    version.save(update_fields=["is_current", "status", "promoted_at", "promoted_by"])
    logger.info("model promoted kind=%s version=%s by=%s", version.kind, version.version, user or "fine-tune")
    return version


def local_copy(field, directory: Path) -> Path:
    """A stored artifact as a local file (cached by name: artifacts never change once stored)."""
    path = directory / field.name.replace("/", "_")
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        with field.open("rb") as stored:
            temporary = path.with_suffix(".part")
            temporary.write_bytes(stored.read())
            temporary.rename(path)
    return path


# --- fine-tuning ---------------------------------------------------------------------------------


def corrected_digits():
    """Corrections a person made to one digit: what the digit network learns from."""
    return corrected_images().filter(corrected_label__isnull=False)


def corrected_lines():
    """Corrections of what a job read as a line (`number` and `auto` modes; in `auto`, a single digit
    is a line of one), no longer than the line reader reads: what the line reader learns from."""
    lines = corrected_images().exclude(corrected_text="").exclude(job__mode=Job.Mode.DIGIT)
    return lines.alias(length=Length("corrected_text")).filter(length__lte=MAX_TEXT)


CORRECTIONS = {ModelVersion.Kind.DIGIT: corrected_digits, ModelVersion.Kind.LINE: corrected_lines}


def correction_counts() -> dict:
    return {kind: corrections().count() for kind, corrections in CORRECTIONS.items()}


def start_fine_tune(*, kind=ModelVersion.Kind.DIGIT, user=None, options: dict | None = None) -> FineTune:
    """Queue a fine-tune of the current network of `kind` on every correction of that kind so far."""
    options = {key: value for key, value in (options or {}).items() if key in FINE_TUNE_OPTIONS}
    count = CORRECTIONS[kind]().count()
    if count < MIN_CORRECTIONS:
        raise LearningError(f"too few corrections to learn from: {count} of {kind}s (at least {MIN_CORRECTIONS})")
    with transaction.atomic():
        give_up_stalled_runs()
        if FineTune.objects.select_for_update().filter(status__in=UNFINISHED):
            raise LearningError("a fine-tune is already queued or running")
        run = FineTune.objects.create(kind=kind, requested_by=user, figures={"options": options})
        transaction.on_commit(lambda: _queue_fine_tune(run.id))
    return run


def give_up_stalled_runs() -> int:
    """A run whose worker died (or whose message was lost) would block every later one: after
    OCR_FINE_TUNE_STALL_SECONDS it is marked failed."""
    now = timezone.now()
    stalled = FineTune.objects.filter(
        status__in=UNFINISHED, created_at__lt=now - timedelta(seconds=settings.OCR_FINE_TUNE_STALL_SECONDS)
    )
    reason = f"no result after {settings.OCR_FINE_TUNE_STALL_SECONDS} s: the training worker stopped or never got it"
    return stalled.update(status=FineTune.Status.FAILED, error=reason, finished_at=now)


def _queue_fine_tune(run_id) -> None:
    from learning.tasks import fine_tune

    fine_tune.apply_async([str(run_id)], queue=settings.OCR_QUEUES["training"])


def run_fine_tune(*, run_id) -> FineTune:
    """The training worker's part: fine-tune, evaluate beside the current version, promote if better."""
    run = FineTune.objects.get(id=run_id)
    if run.status != FineTune.Status.QUEUED:
        return run
    _update(run, status=FineTune.Status.RUNNING, started_at=timezone.now(), stage="reading corrections")
    try:
        with tempfile.TemporaryDirectory(prefix="fine-tune-") as work:
            _fine_tune_in(run, Path(work))
    except Exception as exc:
        logger.exception("fine-tune failed run_id=%s", run.id)
        _update(run, status=FineTune.Status.FAILED, error=str(exc) or type(exc).__name__, finished_at=timezone.now())
    return run


@dataclass(frozen=True)
class Learner:
    """What fine-tuning one kind of network takes: its corrections as network inputs, the training
    (`ml.fine_tune` or `ml.fine_tune_lines`) and its settings, how a version is scored, and the files a
    candidate is."""

    corrections: Callable[[], tuple]  # () -> (image ids, uint8 inputs, truths)
    fine_tune: Callable[..., dict]  # (base Keras file, (inputs, truths), out dir, config, progress) -> figures
    config: type  # the run's settings, made from the staff member's options
    accuracy: Callable[..., float]  # (.tflite, inputs, truths) -> share read right
    base_sample: Callable[[int], tuple]  # (count) -> (inputs, truths) like the base validation sets
    network: str  # the candidate's files in the out dir
    keras: str


def learner(kind) -> Learner:
    from ml import fine_tune, fine_tune_lines

    if kind == ModelVersion.Kind.LINE:
        return Learner(
            corrections=line_correction_inputs,
            fine_tune=fine_tune_lines.fine_tune_lines,
            config=fine_tune_lines.LineFineTuneConfig,
            accuracy=fine_tune_lines.line_accuracy,
            base_sample=fine_tune_lines.base_line_validation_sample,
            network=fine_tune_lines.ARTIFACT_NAME,
            keras=weights_path(Path(fine_tune_lines.ARTIFACT_NAME)).name,
        )
    return Learner(
        corrections=correction_inputs,
        fine_tune=fine_tune.fine_tune,
        config=fine_tune.FineTuneConfig,
        accuracy=fine_tune.accuracy,
        base_sample=fine_tune.base_validation_sample,
        network="digits.tflite",
        keras="digits.keras",
    )


def _fine_tune_in(run: FineTune, work: Path) -> None:
    ensure_bundled_versions()
    base = current_versions()[run.kind]
    if not base.keras:
        raise LearningError(f"version {base.version} has no Keras network to fine-tune from")
    _update(run, base=base)
    learning = learner(run.kind)
    trained, held_out = split_corrections(learning.corrections())
    options = run.figures.get("options", {})
    out = work / "candidate"
    config = learning.config(**options)
    result = learning.fine_tune(local_copy(base.keras, work), trained, out, config, _progress_of(run))
    _update(run, stage="comparing with the current version", progress=0.95)
    figures = compare(learning, local_copy(base.network, work), out / learning.network, held_out)
    figures.update(result=result, corrections_trained=len(trained[1]), options=options)
    candidate = store_version(
        kind=run.kind,
        network=(out / learning.network).read_bytes(),
        keras=(out / learning.keras).read_bytes(),
        trained_from={"base": base.version, "fine_tune": str(run.id), "corrections": len(trained[1])},
        figures=figures,
    )
    better = is_better(figures)
    promoted = better and promote(candidate, replacing=base) is not None
    if not promoted:
        candidate.status = ModelVersion.Status.REJECTED
        candidate.save(update_fields=["status"])
    _update(
        run,
        status=FineTune.Status.DONE,
        stage=_outcome(better=better, promoted=promoted),
        progress=1.0,
        candidate=candidate,
        promoted=promoted,
        figures=figures,
        finished_at=timezone.now(),
    )
    logger.info("fine-tune done run_id=%s candidate=%s promoted=%s", run.id, candidate.version, promoted)


def _outcome(*, better: bool, promoted: bool) -> str:
    if promoted:
        return "promoted"
    return "kept: another version was made current meanwhile" if better else "rejected"


def correction_inputs() -> tuple[list[int], np.ndarray, np.ndarray]:
    """(image ids, uint8 digit network inputs, labels) of every readable digit correction."""
    ids, inputs, images = _readable(corrected_digits(), to_network_input)
    return (
        ids,
        np.asarray(inputs, np.uint8).reshape(-1, 28, 28),
        np.asarray([image.corrected_label for image in images], np.int64),
    )


def line_correction_inputs() -> tuple[list[int], np.ndarray, np.ndarray]:
    """(image ids, uint8 line reader inputs, texts) of every readable line correction."""
    ids, inputs, images = _readable(corrected_lines(), to_line_input)
    texts = np.asarray([image.corrected_text for image in images])
    return ids, np.asarray(inputs, np.uint8).reshape(-1, LINE_HEIGHT, LINE_WIDTH), texts


def _readable(corrections, network_input: Callable) -> tuple[list[int], list[np.ndarray], list]:
    """(ids, uint8 inputs, images) of the corrections whose picture can be read; one that cannot (any
    decoder-kind error, an ImageError among them) is left out rather than failing every fine-tune after it."""
    ids, inputs, images = [], [], []
    for image in corrections.iterator(chunk_size=500):
        try:
            picture = open_image(picture_bytes(image), max_pixels=settings.OCR_MAX_IMAGE_PIXELS)
            inputs.append(np.round(network_input(picture) * 255).astype(np.uint8))
        except DECODER_ERRORS:
            continue
        ids.append(image.id)
        images.append(image)
    return ids, inputs, images


def is_held_out(image_id: int) -> bool:
    return int(hashlib.sha256(str(image_id).encode()).hexdigest(), 16) % HELD_OUT_SHARE == 0


def split_corrections(corrections) -> tuple[tuple, tuple]:
    """(trained on, kept aside): the same correction always falls on the same side."""
    ids, inputs, labels = corrections
    aside = np.array([is_held_out(image_id) for image_id in ids], dtype=bool)
    return (inputs[~aside], labels[~aside]), (inputs[aside], labels[aside])


def compare(learning: Learner, current: Path, candidate: Path, held_out: tuple) -> dict:
    """Both versions on the corrections kept aside and on the base validation sample."""
    base_sample = learning.base_sample(settings.OCR_FINE_TUNE_VALIDATION_IMAGES)
    figures = {"margin": settings.OCR_PROMOTION_MARGIN}
    for name, (images, labels) in {"corrections_held_out": held_out, "base_validation": base_sample}.items():
        figures[name] = {
            "images": int(len(labels)),
            "current": learning.accuracy(current, images, labels) if len(labels) else None,
            "candidate": learning.accuracy(candidate, images, labels) if len(labels) else None,
        }
    return figures


def is_better(figures: dict) -> bool:
    """Better on the corrections kept aside, and on the base sets no worse than the stated margin."""
    corrections, base = figures["corrections_held_out"], figures["base_validation"]
    if not corrections["images"]:
        return False
    return (
        corrections["candidate"] > corrections["current"] and base["candidate"] >= base["current"] - figures["margin"]
    )


def _progress_of(run: FineTune):
    def report(stage: str, fraction: float) -> None:
        _update(run, stage=stage[:64], progress=round(0.05 + 0.9 * fraction, 3))

    return report


def _update(run: FineTune, **fields) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    FineTune.objects.filter(id=run.id).update(**fields)
