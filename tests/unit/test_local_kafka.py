from pathlib import Path

from streams.tools.local.kafka import _cluster_id


def test_cluster_ids_never_look_like_an_option() -> None:
    # 1 in 64 URL-safe base64 ids starts with "-", which kafka-storage reads as an option.
    ids = {_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_the_broker_config_files_are_found_where_the_package_keeps_them() -> None:
    from streams.tools.local.kafka import KAFKA_CONFIG_DIR

    assert (KAFKA_CONFIG_DIR / "pom.xml").is_file()
    assert (KAFKA_CONFIG_DIR / "log4j2.properties").is_file()


def test_reset_deletes_the_data_of_a_broker_that_is_not_running(tmp_path: Path) -> None:
    from config import Settings
    from streams.tools.local import LocalKafka

    kafka = LocalKafka(Settings(local={"home": tmp_path}))
    (kafka.data / "topic-0").mkdir(parents=True)
    (kafka.data / "meta.properties").write_text("cluster.id=x\n")
    assert kafka.reset()
    assert not kafka.data.exists()
    assert not kafka.reset()
