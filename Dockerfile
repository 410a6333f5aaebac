# digit-ocr image: one image for the web server (default CMD) and the Celery worker (compose command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/data/media

# Wheels bundle their native libraries (psycopg[binary], pillow, numpy, scipy, ai-edge-litert); the
# OpenMP runtime is the one shared library some of them may expect from the system.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lock changes. The runtime lock only
# (every package pinned with hashes; no TensorFlow: the service runs the .tflite model with LiteRT).
# The training worker's image is built with REQUIREMENTS=train (TensorFlow, for fine-tuning).
ARG REQUIREMENTS=runtime
COPY requirements/runtime.txt requirements/train.txt requirements/
RUN pip install --require-hashes -r requirements/${REQUIREMENTS}.txt

COPY --chown=app:app . .

RUN mkdir -p /app/var /data/media \
    && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0 \
    && chown -R app:app /app/var /data

USER app

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
