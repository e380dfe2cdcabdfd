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
