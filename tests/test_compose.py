"""Static checks of the Docker files (Docker cannot run here): docker-compose.yml, .env.example and the
Dockerfile agree with config/settings.py and with what scripts/run.sh runs locally."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: svc for name, svc in SERVICES.items() if "build" in svc}


def settings_env_names() -> set[str]:
    """Every environment variable name config/settings.py reads."""
    source = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"os\.environ(?:\.get)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    names |= set(re.findall(r"os\.environ\[\s*[\"']([A-Z][A-Z0-9_]*)[\"']\s*\]", source))
    names |= set(re.findall(r"os\.getenv\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    names |= set(re.findall(r"\benv_\w+\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    if re.search(r"dj_database_url\.config\((?![^)]*\benv\s*=)", source):
        names.add("DATABASE_URL")  # dj_database_url.config() reads DATABASE_URL by default
    return names


def env_example() -> dict[str, str]:
    """Names in .env.example, active (KEY=value) or documented in a comment (# KEY=value)."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=(\S*)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def active_env_example() -> dict[str, str]:
    return {
        m.group(1): m.group(2)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if (m := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.strip()))
    }


def compose_environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def env_files(service: dict) -> list[str]:
    files = service.get("env_file") or []
    if isinstance(files, (str, dict)):
        files = [files]
    return [f if isinstance(f, str) else f["path"] for f in files]


def command_text(service: dict) -> str:
    command = service.get("command")
    return command if isinstance(command, str) else " ".join(command)


def run_sh() -> str:
    return (ROOT / "scripts" / "run.sh").read_text()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_is_complete(name):
    service = SERVICES[name]
    assert "image" in service or "build" in service, f"{name}: needs image or build"
    assert service.get("command"), f"{name}: needs an explicit command"
    healthcheck = service.get("healthcheck") or {}
    assert healthcheck.get("test"), f"{name}: needs a healthcheck with a test"
    assert not healthcheck.get("disable"), f"{name}: healthcheck disabled"


def test_expected_services():
    assert {"web", "worker", "redis", "postgres"} <= set(SERVICES)
    assert set(APP_SERVICES) >= {"web", "worker"}
    assert SERVICES["redis"]["image"].startswith("redis:7")
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert "container_name" not in SERVICES["worker"], "the worker must be scalable (--scale worker=N)"
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in SERVICES["postgres"]["volumes"])


def test_app_services_read_env_example_and_wait_for_backends():
    for name, service in APP_SERVICES.items():
        assert ".env.example" in env_files(service), f"{name}: should load .env.example"
        for path in env_files(service):
            if path != ".env":  # .env is the optional, uncommitted override
                assert (ROOT / path).is_file(), f"{name}: env_file {path} missing"
        depends = service.get("depends_on") or {}
        assert {"postgres", "redis"} <= set(depends), f"{name}: must depend on postgres and redis"


def test_every_environment_variable_is_read_by_settings():
    known = settings_env_names()
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "MEDIA_ROOT"} <= known, known
    unknown = {name: "(.env.example)" for name in env_example() if name not in known}
    for name, service in APP_SERVICES.items():
        unknown.update({var: name for var in compose_environment(service) if var not in known})
    assert not unknown, f"environment variables that config/settings.py never reads: {unknown}"


def test_env_example_lists_every_setting():
    missing = settings_env_names() - set(env_example())
    assert not missing, f"settings that .env.example does not list: {sorted(missing)}"


def test_env_example_points_at_compose_services():
    env = active_env_example()
    for required in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
        assert env.get(required), f".env.example must set {required}"
    pg = compose_environment(SERVICES["postgres"])
    user, password, db = pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]
    assert env["DATABASE_URL"] == f"postgres://{user}:{password}@postgres:5432/{db}"
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    if env.get("STORAGE_BACKEND", "local") == "local":
        # Web and worker must share the uploads folder.
        media = env["MEDIA_ROOT"]
        for name in ("web", "worker"):
            mounts = [v.split(":")[1] for v in APP_SERVICES[name].get("volumes", []) if isinstance(v, str)]
            assert media in mounts, f"{name}: MEDIA_ROOT {media} is not a shared volume"


def wsgi_module(text: str) -> str:
    match = re.search(r"gunicorn\"?\s+([\w.]+:\w+)", text)
    assert match, f"no gunicorn command in {text!r}"
    return match.group(1)


def test_web_command_matches_run_sh_and_dockerfile():
    web = command_text(SERVICES["web"])
    assert "manage.py migrate" in web, "web should migrate before serving"
    module = wsgi_module(web)
    assert wsgi_module(run_sh()) == module
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.M)
    assert cmd, "Dockerfile needs an exec-form CMD"
    assert wsgi_module(" ".join(yaml.safe_load(cmd.group(1)))) == module
    # The same WSGI application Django itself names (runserver uses it).
    settings_source = (ROOT / "config" / "settings.py").read_text()
    dotted = module.replace(":", ".")
    assert f'WSGI_APPLICATION = "{dotted}"' in settings_source


def worker_invocation(text: str) -> list[str]:
    match = re.search(r"celery\"?\s+-A\s+\S+\s+worker", text)
    assert match, f"no celery worker command in {text!r}"
    return shlex.split(match.group(0).replace('"', ""))


def test_worker_command_matches_run_sh():
    compose_worker = worker_invocation(command_text(SERVICES["worker"]))
    assert compose_worker == ["celery", "-A", "config", "worker"]
    assert worker_invocation(run_sh()) == compose_worker
    assert "--loglevel=INFO" in command_text(SERVICES["worker"])


def test_dockerfile_basics():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.M), "must run as a non-root user"
    copy_reqs = dockerfile.index("COPY requirements")
    copy_all = dockerfile.index("COPY --chown=app:app . .")
    assert copy_reqs < dockerfile.index("pip install") < copy_all, "requirements layer must come first"
    assert "pip install --require-hashes -r requirements/${REQUIREMENTS}.txt" in dockerfile, "the image installs a lock"
    assert "ARG REQUIREMENTS=runtime" in dockerfile, "by default the runtime lock: no TensorFlow in the service"
    assert "collectstatic" in dockerfile


def test_beat_runs_once_in_compose_and_in_run_sh():
    assert command_text(SERVICES["beat"]).startswith("celery -A config beat")
    assert re.search(r'celery"? -A config beat', run_sh())


def test_minio_is_the_s3_store_and_the_bucket_is_made_on_start():
    minio = SERVICES["minio"]
    assert minio["image"].startswith("minio/minio")
    assert any(str(volume).endswith(":/data") for volume in minio["volumes"])
    env = active_env_example()
    assert env["STORAGE_BACKEND"] == "s3" and env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
    credentials = compose_environment(minio)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        credentials["MINIO_ROOT_USER"],
        credentials["MINIO_ROOT_PASSWORD"],
    )
    for name in ("web", "worker", "beat"):
        assert "minio" in SERVICES[name]["depends_on"], name
    assert "manage.py ensure_bucket" in command_text(SERVICES["web"])


def test_flower_is_optional():
    assert SERVICES["flower"].get("profiles") == ["monitoring"]
    assert command_text(SERVICES["flower"]).startswith("celery -A config flower")
