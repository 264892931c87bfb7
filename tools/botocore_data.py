"""Trim a Lambda bundle's botocore data to the AWS services the project's clients use.

Usage: python tools/botocore_data.py BUNDLE_DIR (the Makefile's bundle recipe; a bundle without
botocore is left alone).

botocore ships the models of every AWS service (~450 folders, 28 MB). Making the first client
lists them all (``Loader.list_available_services``: a directory listing and a few ``stat``
calls per service and version, twice) and parses ``endpoints.json`` (1.2 MB, every service in
every partition): ~34 ms of a token function's init CPU (bench/README.md, §7). The bundle keeps
the folders of the services that shared/aws.py makes clients for (read from its source, so a
new client keeps its service), ``endpoints.json`` cut to those services' endpoint prefixes,
and their models decompressed (botocore reads ``.json`` before ``.json.gz``). botocore's own
files are the same otherwise, so it resolves the same endpoints (tests/unit/test_botocore_data.py).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_SOURCE = ROOT / "shared" / "aws.py"


def used_services(source: str) -> list[str]:
    """The service names passed to ``create_client`` in shared/aws.py."""
    return sorted(set(re.findall(r'create_client\("([\w-]+)"', source)))


def trim(data: Path, services: list[str]) -> None:
    """Keep ``services`` (and botocore's top-level files) in the data folder ``data``."""
    for folder in [path for path in data.iterdir() if path.is_dir()]:
        if folder.name not in services:
            shutil.rmtree(folder)
    prefixes = set()
    for service in services:
        for packed in sorted((data / service).glob("*/*.json.gz")):
            packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
            packed.unlink()
        newest_model = sorted((data / service).glob("*/service-2.json"))[-1]
        prefixes.add(json.loads(newest_model.read_text(encoding="utf-8"))["metadata"]["endpointPrefix"])
    endpoints_path = data / "endpoints.json"
    endpoints = json.loads(endpoints_path.read_text(encoding="utf-8"))
    for partition in endpoints["partitions"]:
        partition["services"] = {name: entry for name, entry in partition["services"].items() if name in prefixes}
    endpoints_path.write_text(json.dumps(endpoints, separators=(",", ":")), encoding="utf-8")


def main(arguments: list[str]) -> int:
    data = Path(arguments[0]) / "botocore" / "data"
    if data.is_dir():
        trim(data, used_services(CLIENTS_SOURCE.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
