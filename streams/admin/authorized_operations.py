"""The two Kafka requests that tell a client what its principal may do (KIP-430), which aiokafka
does not make: its Metadata requests stop at v5, and its DescribeGroups v3 reads the answer as
v2 and drops the operations.  Declared from the Kafka protocol's message definitions
(MetadataRequest/Response v8, DescribeGroupsRequest/Response v3); neither is a "flexible"
version, so aiokafka's plain types encode them.  An answer's operations are a bit field with
bit ``n`` set for Kafka's ``AclOperation`` code ``n`` (READ = 3, WRITE = 4, ...).
"""

from __future__ import annotations

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Bytes, Int16, Int32, Schema, String


class MetadataResponseV8(Response):
    API_KEY = 3
    API_VERSION = 8
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("brokers", Array(("node_id", Int32), ("host", String("utf-8")), ("port", Int32), ("rack", String("utf-8")))),
        ("cluster_id", String("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            Array(
                ("error_code", Int16),
                ("name", String("utf-8")),
                ("is_internal", Boolean),
                (
                    "partitions",
                    Array(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", Array(Int32)),
                        ("isr_nodes", Array(Int32)),
                        ("offline_replicas", Array(Int32)),
                    ),
                ),
                ("topic_authorized_operations", Int32),
            ),
        ),
        ("cluster_authorized_operations", Int32),
    )


class MetadataRequestV8(RequestStruct):
    API_KEY = 3
    API_VERSION = 8
    RESPONSE_TYPE = MetadataResponseV8
    SCHEMA = Schema(
        ("topics", Array(String("utf-8"))),
        ("allow_auto_topic_creation", Boolean),
        ("include_cluster_authorized_operations", Boolean),
        ("include_topic_authorized_operations", Boolean),
    )


class AuthorizedMetadataRequest(Request[MetadataRequestV8]):
    """Metadata of the named topics with what the principal may do on each; never creates a topic."""

    API_KEY = 3

    def __init__(self, topics: list[str]):
        self.topics = topics

    def build(self, request_struct_class: type[MetadataRequestV8]) -> MetadataRequestV8:
        return request_struct_class(self.topics, False, False, True)


class DescribeGroupsResponseV3(Response):
    API_KEY = 15
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            Array(
                ("error_code", Int16),
                ("group_id", String("utf-8")),
                ("group_state", String("utf-8")),
                ("protocol_type", String("utf-8")),
                ("protocol_data", String("utf-8")),
                (
                    "members",
                    Array(
                        ("member_id", String("utf-8")),
                        ("client_id", String("utf-8")),
                        ("client_host", String("utf-8")),
                        ("member_metadata", Bytes),
                        ("member_assignment", Bytes),
                    ),
                ),
                ("authorized_operations", Int32),
            ),
        ),
    )


class DescribeGroupsRequestV3(RequestStruct):
    API_KEY = 15
    API_VERSION = 3
    RESPONSE_TYPE = DescribeGroupsResponseV3
    SCHEMA = Schema(("groups", Array(String("utf-8"))), ("include_authorized_operations", Boolean))


class AuthorizedDescribeGroupsRequest(Request[DescribeGroupsRequestV3]):
    """The named groups with what the principal may do on each."""

    API_KEY = 15

    def __init__(self, groups: list[str]):
        self.groups = groups

    def build(self, request_struct_class: type[DescribeGroupsRequestV3]) -> DescribeGroupsRequestV3:
        return request_struct_class(self.groups, True)
