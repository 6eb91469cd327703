"""Reading a broker's authorized-operations bit fields (the requests themselves run against a
secured broker in tests/integration/admin/test_worker_acls.py)."""

import pytest

from streams.admin.permissions import _operations


@pytest.mark.parametrize(
    ("field", "operations"),
    [
        (0b100001000, {"READ"}),  # Read and Describe: a consumer's topic (as the test broker answers)
        (0b101001000, {"READ"}),  # Read, Delete, Describe: a group without an authorizer
        (0b100011000, {"READ", "WRITE"}),
        (0b10000000000, set()),  # DescribeConfigs alone grants neither
        (0, set()),
        (-(2**31), {"READ", "WRITE"}),  # the broker did not compute them: not a refusal
    ],
)
def test_read_and_write_are_bits_3_and_4(field: int, operations: set[str]):
    assert _operations(field) == operations
