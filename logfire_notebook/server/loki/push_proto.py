"""Loki's push protobuf (`logproto.PushRequest`, see tests/fixtures/loki-api/proto/push.proto) as Python
message classes, built from a descriptor at import: no generated code, no protoc. The gogoproto options of
the original change only Go code, so they are left out; field numbers and types are the original's."""

from __future__ import annotations

import contextlib
from typing import Any

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    timestamp_pb2,  # noqa: F401  (registers google/protobuf/timestamp.proto)
)

__all__ = ["PushRequest"]


def _build() -> Any:
    f = descriptor_pb2.FileDescriptorProto(
        name="logfire_notebook/loki/push.proto",
        package="logproto",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    T = descriptor_pb2.FieldDescriptorProto

    def message(name: str, *fields: tuple[str, int, int, int, str | None]) -> None:
        m = f.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            fd = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                fd.type_name = type_name

    one, many = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    message(
        "PushRequest",
        ("streams", 1, T.TYPE_MESSAGE, many, ".logproto.StreamAdapter"),
        ("format", 2, T.TYPE_STRING, one, None),
    )
    message(
        "StreamAdapter",
        ("labels", 1, T.TYPE_STRING, one, None),
        ("entries", 2, T.TYPE_MESSAGE, many, ".logproto.EntryAdapter"),
        ("hash", 3, T.TYPE_UINT64, one, None),
    )
    message("LabelPairAdapter", ("name", 1, T.TYPE_STRING, one, None), ("value", 2, T.TYPE_STRING, one, None))
    message(
        "EntryAdapter",
        ("timestamp", 1, T.TYPE_MESSAGE, one, ".google.protobuf.Timestamp"),
        ("line", 2, T.TYPE_STRING, one, None),
        ("structuredMetadata", 3, T.TYPE_MESSAGE, many, ".logproto.LabelPairAdapter"),
        ("parsed", 4, T.TYPE_MESSAGE, many, ".logproto.LabelPairAdapter"),
    )
    pool = descriptor_pool.Default()
    with contextlib.suppress(TypeError):  # already added (module reloaded)
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("logproto.PushRequest"))


PushRequest: Any = _build()
