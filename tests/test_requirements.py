"""The locks in requirements/ (compiled by `make lock`) pin every package with hashes, each profile's lock
holds the one below it at the same versions, and every direct requirement is in its lock. No test package
may be what makes the system run: tests/e2e/test_make_run.py starts `make run` on the training lock."""

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements"
PROFILES = ["runtime", "train", "dev"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(profile: str) -> dict[str, str]:
    """{package: version} of a lock; fails on a requirement line that is not pinned with hashes."""
    text = (REQUIREMENTS / f"{profile}.txt").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{profile}.txt: not pinned with ==: {line!r}"
        assert "--hash=sha256:" in line, f"{profile}.txt: no hash for {match.group(1)}"
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def direct(profile: str) -> dict[str, str | None]:
    """{package: pinned version or None} named in a .in file itself (not through -r or -c)."""
    names = {}
    for line in (REQUIREMENTS / f"{profile}.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?(?:==(\S+))?", line)
        names[canonical(match.group(1))] = match.group(3)
    return names


@pytest.mark.parametrize("profile", PROFILES)
def test_every_direct_requirement_is_locked_at_its_pinned_version(profile):
    pins = locked(profile)
    for name, version in direct(profile).items():
        assert name in pins, f"{name} is in {profile}.in but not in {profile}.txt: run `make lock`"
        if version:
            assert pins[name] == version, f"{profile}.txt has {name}=={pins[name]}, {profile}.in asks {version}"


@pytest.mark.parametrize("lower, upper", [("runtime", "train"), ("train", "dev")])
def test_each_lock_holds_the_one_below_at_the_same_versions(lower, upper):
    below, above = locked(lower), locked(upper)
    differing = {name: (version, above.get(name)) for name, version in below.items() if above.get(name) != version}
    assert not differing, f"{upper}.txt does not hold {lower}.txt as it is: {differing}"


def test_the_runtime_lock_has_what_the_worker_imports_without_declaring_it():
    assert "packaging" in locked("runtime"), "kombu's Redis transport imports packaging"


def test_the_runtime_lock_has_no_training_or_test_packages():
    runtime = locked("runtime")
    for name in ["tensorflow-cpu", "scikit-learn", "pytest", "playwright", "moto"]:
        assert name not in runtime
