"""Finding a JDK of a given major version (Kafka 4 needs 17+, QuestDB 9.4+ needs 25)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from naia.services.process import ServiceError, apt_install

JVM_DIR = Path("/usr/lib/jvm")
_DEBIAN_JDK = 17
_VERSION_LINE = re.compile(r'^JAVA_VERSION="(?:1\.)?(\d+)', re.MULTILINE)


@dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def _major_of(home: Path) -> int | None:
    """The major version from ``$home/release``, or None if ``home`` is not a usable JDK."""
    try:
        release = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _VERSION_LINE.search(release)
    if match is None or not (home / "bin" / "java").is_file():
        return None
    return int(match.group(1))


def jdk_at(home: Path) -> Jdk:
    major = _major_of(home)
    if major is None:
        raise ServiceError(f"{home} is not a JDK (no bin/java or no JAVA_VERSION in release)")
    return Jdk(home=home, major=major)


def default_jdk() -> Jdk | None:
    """The JDK from $JAVA_HOME, else the one behind ``java`` on the PATH."""
    env_home = os.environ.get("JAVA_HOME")
    if env_home and _major_of(Path(env_home)) is not None:
        return jdk_at(Path(env_home))
    java = shutil.which("java")
    if java is None:
        return None
    home = Path(java).resolve().parents[1]
    return jdk_at(home) if _major_of(home) is not None else None


def _installed_jdks() -> list[Jdk]:
    if not JVM_DIR.is_dir():
        return []
    found: dict[Path, Jdk] = {}
    for entry in sorted(JVM_DIR.iterdir()):
        major = _major_of(entry)
        if major is not None:
            found.setdefault(entry.resolve(), Jdk(home=entry.resolve(), major=major))
    return sorted(found.values(), key=lambda jdk: (jdk.major, str(jdk.home)))


def find_jdk(min_major: int, preferred: Path | None = None) -> Jdk:
    """A JDK of at least ``min_major``: ``preferred`` if given, else the default, else any
    under /usr/lib/jvm (the lowest that fits)."""
    if preferred is not None:
        jdk = jdk_at(preferred)
        if jdk.major < min_major:
            raise ServiceError(f"{preferred} is Java {jdk.major}, need Java {min_major}+")
        return jdk
    default = default_jdk()
    if default is not None and default.major >= min_major:
        return default
    for jdk in _installed_jdks():
        if jdk.major >= min_major:
            return jdk
    raise ServiceError(
        f"no Java {min_major}+ found ($JAVA_HOME, PATH, {JVM_DIR}); "
        f"install one (apt-get install openjdk-{min_major}-jre-headless) or set java_home"
    )


def ensure_jdk(min_major: int, preferred: Path | None, log_path: Path) -> Jdk:
    """Like :func:`find_jdk`, but installs Debian's OpenJDK 17 when no Java at all fits 17."""
    try:
        return find_jdk(min_major, preferred)
    except ServiceError:
        if preferred is not None or min_major > _DEBIAN_JDK:
            raise
    apt_install(f"openjdk-{_DEBIAN_JDK}-jre-headless", log_path)
    return find_jdk(min_major, preferred)
