"""The bench's Lambda CPU model and its MemorySize reader: the figures `make bench` prints rest on them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import cost
import first_request
import lambda_model
from lambda_model import Cold

TEMPLATE = """
Globals:
  Function:
    Runtime: python3.13
    MemorySize: 512
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref Name
  Login:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 1024
      Environment:
        Variables:
          TABLE: !GetAtt Table.Arn
  Refresh:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.lambda_handler
"""


def test_given_a_template_when_memory_sizes_are_read_then_a_function_without_one_gets_the_globals(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)

    assert cost.memory_sizes(template) == {"Login": 1024, "Refresh": 512}


def test_given_the_project_template_when_read_then_every_function_the_bench_models_has_its_memory_size() -> None:
    memory = cost.memory_sizes(ROOT / "template.yaml")

    assert all(memory[resource] >= 128 for resource, _, _ in first_request.FUNCTIONS.values())


def test_given_a_cold_request_when_modelled_then_init_runs_at_a_full_vcpu_and_the_request_at_the_memory_share() -> None:
    cold = Cold(init_cpu_ms=100.0, first_cpu_ms=50.0, init_round_trips=1, first_round_trips=3)

    modelled = lambda_model.modelled_cold_ms(cold, 512, round_trip_ms=5.0)

    assert modelled == pytest.approx(100.0 + 5.0 + 50.0 * 1769 / 512 + 3 * 5.0)


def test_given_memory_beyond_one_vcpu_when_modelled_then_a_single_threaded_request_is_no_faster() -> None:
    cold = Cold(init_cpu_ms=10.0, first_cpu_ms=40.0)

    assert lambda_model.modelled_cold_ms(cold, 3538, 5.0) == lambda_model.modelled_cold_ms(cold, 1769, 5.0) == 50.0


def test_given_cpu_moved_from_the_first_request_to_init_when_modelled_then_it_saves_what_the_share_slowed() -> None:
    cold = Cold(init_cpu_ms=100.0, first_cpu_ms=150.0, first_round_trips=2)

    moved = lambda_model.moved_to_init(cold, 120.0)

    assert (moved.init_cpu_ms, moved.first_cpu_ms, moved.first_round_trips) == (220.0, 30.0, 2)
    saved = lambda_model.modelled_cold_ms(cold, 512) - lambda_model.modelled_cold_ms(moved, 512)
    assert saved == pytest.approx(120.0 * (1769 / 512 - 1))


def test_given_no_cold_starts_when_priced_then_a_million_requests_cost_their_billed_gb_seconds_and_requests() -> None:
    cold = Cold(init_cpu_ms=200.0, first_cpu_ms=100.0)

    price = lambda_model.lambda_cost_per_million(
        warm_cpu_ms=9.2, round_trips=2, cold=cold, memory_mb=1024, cold_share=0.0, round_trip_ms=5.0
    )

    # 9.2 ms x 1769 / 1024 + 2 x 5 ms = 25.89 ms, billed in 1 ms steps
    assert price["warm_ms"] == 26
    assert price["compute"] == pytest.approx(1.0 * 26 / 1000 * cost.LAMBDA_ARM_GB_SECOND * 1e6)
    assert price["total"] == pytest.approx(price["compute"] + 0.20)


def test_given_every_request_cold_when_priced_then_init_and_the_slow_first_request_are_billed() -> None:
    cold = Cold(init_cpu_ms=200.4, first_cpu_ms=100.0, first_round_trips=3)

    price = lambda_model.lambda_cost_per_million(
        warm_cpu_ms=5.0, round_trips=2, cold=cold, memory_mb=1769, cold_share=1.0, round_trip_ms=5.0
    )

    assert price["compute"] == pytest.approx(1769 / 1024 * (201 + 115) / 1000 * cost.LAMBDA_ARM_GB_SECOND * 1e6)
