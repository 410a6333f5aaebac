"""The allowed printed-digit fonts, grouped by family, split into training and held-out families."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_PACKAGES = (
    "fonts-dejavu-core",
    "fonts-liberation2",
    "fonts-freefont-ttf",
    "fonts-urw-base35",
    "fonts-roboto",
    "fonts-open-sans",
    "fonts-lato",
    "fonts-cantarell",
    "fonts-hack",
    "fonts-inconsolata",
)
SYMBOL_FAMILIES = {"D050000L", "Standard Symbols PS"}  # digits map to dingbats / symbols
WIDTH_SUFFIXES = (" Condensed", " Narrow")  # "Roboto Condensed" is the Roboto design
HELD_OUT_EVERY = 5  # every 5th family, sorted by name, is held out for validation
FONT_SUFFIXES = (".otf", ".ttf", ".t1")  # preference order when a style ships twice
DISPLAY_FONT_PACKAGE = "fonts-dseg"  # seven- and fourteen-segment display fonts
DISPLAY_FONT_PREFIXES = ("DSEG7", "DSEG14")
NOT_DIGIT_DISPLAY_FONTS = ("SEGGCHAN",)  # DSEG7SEGGCHAN draws its digits as faces


def ensure_font_packages() -> None:
    missing = [package for package in (*FONT_PACKAGES, DISPLAY_FONT_PACKAGE) if not is_installed(package)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", *missing], check=True)


def is_installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False)
    return result.returncode == 0 and result.stdout.strip().endswith("installed")


def package_files(package: str) -> list[str]:
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True)
    return result.stdout.split("\n")


def packages_with_dependencies(package: str) -> list[str]:
    """A listed package plus the font packages it pulls in (fonts-roboto is a metapackage)."""
    result = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True, text=True, check=True)
    names = [part.split()[0] for part in result.stdout.replace("|", ",").split(",") if part.strip()]
    return [package] + [name for name in names if name.startswith(package + "-") and is_installed(name)]


@lru_cache(maxsize=1)
def discover_families() -> dict[str, list[str]]:
    """family -> sorted font file paths, one file per style, symbol fonts left out."""
    by_style: dict[tuple[str, str], str] = {}
    for package in FONT_PACKAGES:
        for dependency in packages_with_dependencies(package):
            for path in package_files(dependency):
                if path.lower().endswith(FONT_SUFFIXES) and Path(path).is_file():
                    _add_font(by_style, path)
    families: dict[str, list[str]] = defaultdict(list)
    for (family, _style), path in sorted(by_style.items()):
        families[family].append(path)
    return {family: sorted(paths) for family, paths in sorted(families.items())}


def _add_font(by_style: dict[tuple[str, str], str], path: str) -> None:
    try:
        name, style = ImageFont.truetype(path, 20).getname()
    except OSError:
        return
    if name in SYMBOL_FAMILIES:
        return
    key = (_design_family(name), f"{name} {style}")
    if key not in by_style or _preference(path) < _preference(by_style[key]):
        by_style[key] = path


def _design_family(name: str) -> str:
    for suffix in WIDTH_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _preference(path: str) -> int:
    return FONT_SUFFIXES.index(Path(path).suffix.lower())


def split_families(families: dict[str, list[str]] | None = None) -> tuple[list[str], list[str]]:
    """(training families, held-out families)."""
    names = sorted(families if families is not None else discover_families())
    held_out = [name for index, name in enumerate(names) if index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    return [name for name in names if name not in held_out], held_out


def font_paths(family_names: list[str]) -> list[str]:
    families = discover_families()
    return [path for name in family_names for path in families[name]]


@lru_cache(maxsize=1)
def display_font_paths() -> list[str]:
    """The installed DSEG7* and DSEG14* segment-display fonts, sorted."""
    paths = []
    for path in package_files(DISPLAY_FONT_PACKAGE):
        name = Path(path).name
        if name.startswith(DISPLAY_FONT_PREFIXES) and name.endswith(".ttf") and Path(path).is_file():
            if not any(marker in name for marker in NOT_DIGIT_DISPLAY_FONTS):
                paths.append(path)
    return sorted(paths)
