"""Ask a gRPC server's health service (grpc.health.v1) whether it serves.

    python -m shared.grpc_health_probe HOST:PORT [SERVICE] [--timeout SECONDS]

Exits 0 if the server (or SERVICE, a full service name) is SERVING, else 1;
for docker-compose healthchecks, where Kubernetes' built-in gRPC probe is not
available.
"""
import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def probe(target, service="", timeout=3.0):
    """The serving status name, or the gRPC error code's name if the call failed."""
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as err:
            return err.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.grpc_health_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="HOST:PORT")
    parser.add_argument("service", nargs="?", default="", help="full service name (default: the whole server)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default: %(default)s)")
    args = parser.parse_args(argv)
    status = probe(args.target, args.service, args.timeout)
    print(f"{args.target} {args.service or '(server)'}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
