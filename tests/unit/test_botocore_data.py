"""tools/botocore_data.py: a bundle's botocore keeps the project's services and resolves them as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import botocore
import pytest
from botocore.loaders import Loader
from botocore.session import Session, get_session

from tools.botocore_data import CLIENTS_SOURCE, trim, used_services

SHIPPED = Path(botocore.__file__).parent / "data"
SERVICES = used_services(CLIENTS_SOURCE.read_text(encoding="utf-8"))
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bundle") / "data"
    shutil.copytree(SHIPPED, data)
    trim(data, SERVICES)
    return data


def session_on(data: Path) -> Session:
    """A session that reads botocore's data from ``data`` alone, as a bundle's botocore does."""
    session = get_session()
    loader = Loader(extra_search_paths=[str(data)], include_default_search_paths=False)
    session.register_component("data_loader", loader)
    return session


def test_given_shared_aws_then_the_services_are_those_it_makes_clients_for() -> None:
    assert SERVICES == ["dynamodb", "secretsmanager", "sesv2", "sqs"]


def test_given_a_trimmed_bundle_then_only_the_used_services_and_botocores_own_files_are_left(trimmed: Path) -> None:
    folders = sorted(path.name for path in trimmed.iterdir() if path.is_dir())
    endpoints = session_on(trimmed).get_component("data_loader").load_data("endpoints")

    assert folders == SERVICES
    assert not list(trimmed.glob("*/*/*.gz"))
    assert {name for partition in endpoints["partitions"] for name in partition["services"]} == {
        "dynamodb",
        "secretsmanager",
        "email",  # SES v2's endpoint prefix
        "sqs",
    }


@pytest.mark.parametrize("service", SERVICES)
def test_given_a_trimmed_bundle_then_each_client_resolves_the_endpoint_of_the_full_sdk(
    trimmed: Path, service: str
) -> None:
    full, bundle = get_session(), session_on(trimmed)
    for region in REGIONS:
        expected = full.create_client(service, region_name=region).meta.endpoint_url
        assert bundle.create_client(service, region_name=region).meta.endpoint_url == expected
