"""A gRPC client written by nobody on cleave: Python's grpcio, which knows nothing of the
modules' .proto files, learns them from the server's reflection service and calls them.

    reflection_client.py HOST:PORT TOKEN EMAIL

Lists the services, checks `grpc.health.v1`, then on `cleave.users.v1.Users`: refuses a
call without the internal token, creates the user EMAIL with it, reads it back, and asks
for a user that does not exist. Prints one JSON object of what it saw; exits non-zero on
anything unexpected.
"""

import json
import sys
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

USERS = "cleave.users.v1.Users"


def main(target: str, token: str, email: str) -> None:
    seen = {}
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        database = ProtoReflectionDescriptorDatabase(channel)
        seen["services"] = sorted(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName(USERS)

        def method(name):
            found = service.FindMethodByName(name)
            request = message_factory.GetMessageClass(found.input_type)
            response = message_factory.GetMessageClass(found.output_type)
            call = channel.unary_unary(
                f"/{USERS}/{name}",
                request_serializer=request.SerializeToString,
                response_deserializer=response.FromString,
            )
            return request, call

        # The health service's messages are two bytes: an empty request (every service)
        # and `status = SERVING` (field 1, varint 1).
        health = channel.unary_unary("/grpc.health.v1.Health/Check")
        seen["health"] = health(b"", timeout=10).hex()

        bearer = (("authorization", f"Bearer {token}"),)
        new_user, create = method("Create")
        try:
            create(new_user(email=email, name="Grace Hopper"), timeout=10)
            seen["without_token"] = "OK"
        except grpc.RpcError as err:
            seen["without_token"] = err.code().name
        created = create(new_user(email=email, name="Grace Hopper"), metadata=bearer, timeout=10)
        seen["created"] = json_format.MessageToDict(created, preserving_proto_field_name=True)

        get_user, get = method("Get")
        again = get(get_user(id=created.id), metadata=bearer, timeout=10)
        seen["read_back"] = json_format.MessageToDict(again, preserving_proto_field_name=True)
        try:
            get(get_user(id=str(uuid.uuid4())), metadata=bearer, timeout=10)
            seen["stranger"] = "OK"
        except grpc.RpcError as err:
            seen["stranger"] = err.code().name
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:4])
