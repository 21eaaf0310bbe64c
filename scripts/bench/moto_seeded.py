"""moto's EC2 server with many instances already in it, for the benchmark.

Usage: python3 moto_seeded.py COUNT REGION
Prints "READY http://127.0.0.1:PORT" once COUNT instances exist, each in its
own reservation (as instances launched one by one are), then serves until
killed.

Seeding goes straight to moto's backend, not through RunInstances over HTTP:
moto spends ~25 ms per instance re-filtering its 1,000+ AMIs and scanning
every instance it holds, so 10,000 launches over HTTP take many minutes.
Two lookups are short-cut while seeding only (the AMI answer is cached, the
newest reservation is searched first); both are restored before serving, so
DescribeInstances is moto's own, unpatched code.
"""
import signal
import sys
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.server import ThreadedMotoServer

IMAGE_ID = "ami-12c6146b"  # a public AMI moto ships in every region


def seed(backend, count):
    images = {}
    original_describe = backend.describe_images
    original_get = backend.get_instance

    def describe_images(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in images:
            images[key] = original_describe(*args, **kwargs)
        return images[key]

    def get_instance(instance_id):
        newest = next(reversed(backend.reservations.values()), None)
        for instance in newest.instances if newest else []:
            if instance.id == instance_id:
                return instance
        return original_get(instance_id)

    backend.describe_images = describe_images
    backend.get_instance = get_instance
    try:
        for i in range(count):
            backend.run_instances(
                IMAGE_ID,
                1,
                None,
                [],
                instance_type="t3.micro",
                is_instance_type_default=False,
                region_name=backend.region_name,
                tags={"instance": {"Name": f"bench-{i + 1}", "env": "bench"}},
            )
    finally:
        del backend.describe_images
        del backend.get_instance


def main():
    count, region = int(sys.argv[1]), sys.argv[2]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    started = time.monotonic()
    seed(ec2_backends[DEFAULT_ACCOUNT_ID][region], count)
    print(f"READY http://{host}:{port} seeded in {time.monotonic() - started:.1f} s", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
