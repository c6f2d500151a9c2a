"""Pure configuration rendering and wire encoding of naia.services (no process is started)."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import ValidationError

from naia.services import kafka, questdb, redis
from naia.services.java import find_jdk
from naia.services.manager import SERVICE_NAMES, ServiceManager
from naia.services.process import ServiceError, describe_logs, log_offsets, read_pid, tail
from naia.services.settings import ServicesSettings


def _settings(tmp_path: Path, **overrides: object) -> ServicesSettings:
    return ServicesSettings.model_validate({"data_dir": tmp_path / "services", **overrides})


def _parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


# -- settings ------------------------------------------------------------------------------


def test_default_settings_use_non_default_loopback_ports() -> None:
    settings = ServicesSettings()
    assert settings.ports() == {
        "kafka": 19092,
        "kafka_controller": 19093,
        "questdb_http": 19000,
        "questdb_pg": 18812,
        "redis": 16379,
        "questdb_ilp_tcp": 19009,
    }
    assert settings.data_dir.parts[-2:] == ("var", "services")
    assert settings.data_dir.is_absolute()


def test_settings_are_frozen_and_reject_unknown_fields(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ValidationError):
        settings.kafka_port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        _settings(tmp_path, kafka_prot=1)


def test_settings_reject_clashing_and_invalid_ports(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="distinct"):
        _settings(tmp_path, redis_port=19092)
    with pytest.raises(ValidationError):
        _settings(tmp_path, kafka_port=70000)


def test_relative_data_dir_becomes_absolute() -> None:
    settings = ServicesSettings(data_dir=Path("some/where"))
    assert settings.data_dir.is_absolute()
    assert settings.data_dir.parts[-2:] == ("some", "where")


@pytest.mark.parametrize("service", [kafka.Kafka, questdb.QuestDB])
def test_maven_poms_ship_inside_the_package(tmp_path: Path, service: type[kafka.Kafka]) -> None:
    with service(_settings(tmp_path)).maven_pom() as pom:
        assert pom.is_relative_to(Path(kafka.__file__).parent / "assets")
        project = ET.fromstring(pom.read_text(encoding="utf-8"))
    assert project.tag.endswith("project")


def test_assets_dir_overrides_the_packaged_poms(tmp_path: Path) -> None:
    settings = _settings(tmp_path, assets_dir=tmp_path / "mine")
    with questdb.QuestDB(settings).maven_pom() as pom:
        assert pom == tmp_path / "mine" / "questdb" / "pom.xml"


def test_versions_are_pinned() -> None:
    versions = ServicesSettings().versions
    assert re.fullmatch(r"4\.\d+\.\d+", versions.kafka)
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.questdb)
    assert re.fullmatch(r"2\.\d+\.\d+", versions.kafka_log4j)


# -- kafka ---------------------------------------------------------------------------------


def test_kafka_server_properties_kraft_combined_on_loopback(tmp_path: Path) -> None:
    settings = _settings(tmp_path, kafka_port=29092, kafka_controller_port=29093)
    props = _parse_properties(kafka.render_server_properties(settings, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "data")


def test_kafka_server_properties_single_node_transactions(tmp_path: Path) -> None:
    props = _parse_properties(kafka.render_server_properties(_settings(tmp_path), tmp_path))
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "1"
    assert props["auto.create.topics.enable"] == "false"


def test_kafka_log4j2_config_is_xml_with_one_file_appender(tmp_path: Path) -> None:
    log_file = tmp_path / "a&b" / "server.log"
    root = ET.fromstring(kafka.render_log4j2(log_file))
    assert root.tag == "Configuration"
    assert root.get("shutdownHook") == "disable"
    appender = root.find("./Appenders/RollingFile")
    assert appender is not None
    assert appender.get("fileName") == str(log_file)
    root_logger = root.find("./Loggers/Root")
    assert root_logger is not None
    assert root_logger.get("level") == "INFO"


def test_kafka_cluster_id_looks_like_kafkas() -> None:
    ids = {kafka.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")


def test_kafka_metadata_request_encoding() -> None:
    frame = kafka.metadata_request(42, client_id="probe")
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4
    api_key, version, correlation, client_len = struct.unpack_from(">hhih", frame, 4)
    assert (api_key, version, correlation, client_len) == (3, 4, 42, 5)
    assert frame[14:19] == b"probe"
    assert frame[19:] == struct.pack(">ib", 0, 0)


def test_kafka_metadata_response_broker_count() -> None:
    broker = struct.pack(">ih", 1, 9) + b"127.0.0.1" + struct.pack(">ih", 19092, -1)
    payload = struct.pack(">iii", 42, 0, 1) + broker
    assert kafka.metadata_broker_count(payload, 42) == 1
    assert kafka.metadata_broker_count(struct.pack(">iii", 42, 0, 0), 42) == 0
    with pytest.raises(ValueError, match="correlation"):
        kafka.metadata_broker_count(payload, 7)


def test_kafka_probe_false_when_nothing_listens() -> None:
    assert kafka.probe(1, timeout_s=0.2) is False


# -- questdb -------------------------------------------------------------------------------


def test_questdb_server_conf_binds_loopback(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, questdb_http_port=29000, questdb_pg_port=28812, questdb_ilp_tcp_port=29009
    )
    conf = _parse_properties(questdb.render_server_conf(settings))
    assert conf["http.net.bind.to"] == "127.0.0.1:29000"
    assert conf["pg.net.bind.to"] == "127.0.0.1:28812"
    assert conf["line.tcp.enabled"] == "true"
    assert conf["line.tcp.net.bind.to"] == "127.0.0.1:29009"
    assert conf["http.min.enabled"] == "false"
    assert conf["telemetry.enabled"] == "false"
    assert conf["config.validation.strict"] == "true"


def test_questdb_idle_workers_park_soon(tmp_path: Path) -> None:
    """Idle workers must not spin for thousands of rounds on a machine shared with clients."""
    conf = _parse_properties(questdb.render_server_conf(_settings(tmp_path)))
    for pool in ("shared.worker", "wal.apply.worker"):
        assert int(conf[f"{pool}.yield.threshold"]) <= int(conf[f"{pool}.nap.threshold"])
        assert int(conf[f"{pool}.nap.threshold"]) <= int(conf[f"{pool}.sleep.threshold"]) <= 100


def test_questdb_ilp_tcp_can_be_disabled(tmp_path: Path) -> None:
    conf = _parse_properties(
        questdb.render_server_conf(_settings(tmp_path, questdb_ilp_tcp_port=None))
    )
    assert conf["line.tcp.enabled"] == "false"
    assert "line.tcp.net.bind.to" not in conf


@pytest.mark.parametrize(
    ("version", "java"), [("9.3.4", 17), ("8.2.0", 17), ("9.4.0", 25), ("10.0.1", 25)]
)
def test_questdb_java_requirement(version: str, java: int) -> None:
    assert questdb.min_java(version) == java


def test_questdb_launch_runs_the_server_module(tmp_path: Path) -> None:
    service = questdb.QuestDB(_settings(tmp_path))
    assert service.markers() == ("io.questdb/io.questdb.ServerMain", str(service.root))
    assert service.jar.name == f"questdb-{service.version}.jar"


# -- redis ---------------------------------------------------------------------------------


def test_redis_args_loopback_without_persistence(tmp_path: Path) -> None:
    args = redis.server_args(26379, tmp_path)
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--port"] == "26379"
    assert pairs["--bind"] == "127.0.0.1"
    assert pairs["--daemonize"] == "no"
    assert pairs["--dir"] == str(tmp_path)
    assert pairs["--save"] == ""
    assert pairs["--appendonly"] == "no"


def test_redis_version_parsing() -> None:
    text = "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1"
    assert redis.parse_version(text) == (7, 0, 15)
    with pytest.raises(ValueError, match="no version"):
        redis.parse_version("nonsense")


# -- process and java helpers --------------------------------------------------------------


def test_tail_shows_only_what_was_appended(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("old run\n", encoding="utf-8")
    offsets = log_offsets([log, tmp_path / "missing.log"])
    with log.open("a", encoding="utf-8") as handle:
        handle.write("new 1\nnew 2\n")
    assert tail(log, 10, offsets[log]) == "new 1\nnew 2"
    assert tail(log, 1) == "new 2"
    assert "old run" not in describe_logs([log], since=offsets)
    assert describe_logs([tmp_path / "missing.log"]) == "(no log output)"


def test_read_pid_tolerates_missing_and_garbled_files(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    assert read_pid(pid_file) is None
    pid_file.write_text("garbage\n", encoding="ascii")
    assert read_pid(pid_file) is None
    pid_file.write_text("1234\n", encoding="ascii")
    assert read_pid(pid_file) == 1234


def _fake_jdk(home: Path, version: str) -> Path:
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n", encoding="ascii")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n', encoding="ascii")
    return home


def test_find_jdk_honours_preferred_home(tmp_path: Path) -> None:
    jdk25 = _fake_jdk(tmp_path / "jdk25", "25.0.3")
    assert find_jdk(25, jdk25).major == 25
    jdk17 = _fake_jdk(tmp_path / "jdk17", "17.0.15")
    with pytest.raises(ServiceError, match="need Java 25"):
        find_jdk(25, jdk17)


def test_manager_selects_services_in_start_order(tmp_path: Path) -> None:
    manager = ServiceManager(_settings(tmp_path))
    assert [service.name for service in manager.select()] == list(SERVICE_NAMES)
    assert [service.name for service in manager.select(["redis", "kafka"])] == ["kafka", "redis"]
    with pytest.raises(ValueError, match="unknown"):
        manager.select(["zookeeper"])


def test_each_service_lives_in_its_own_directory(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    for service in ServiceManager(settings).select():
        assert service.home == settings.data_dir / service.name
        assert service.pid_path.parent == service.home
        assert all(log.parent == service.logs_dir for log in service.log_files())
