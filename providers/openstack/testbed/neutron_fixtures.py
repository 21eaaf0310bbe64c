# The testbed's Neutron fixtures, created idempotently over the REST APIs as admin (one process
# instead of a dozen `openstack` CLI starts, which cost seconds each on a busy machine):
# Keystone user "neutron" (admin in project service), external network "public"
# (203.0.113.0/24), network "private" in project demo with subnets private-subnet (10.0.0.0/24)
# and private-b (10.0.1.0/24), router demo-router joining private's subnets to public.
# usage: python3 neutron_fixtures.py user|networks   (admin credentials from the OS_* variables)
import json, os, sys, urllib.error, urllib.request

KEYSTONE = os.environ["OS_AUTH_URL"].rstrip("/")
NEUTRON = "http://127.0.0.1:9696/v2.0"


def call(method, url, body=None, token=None, want=(200, 201, 204)):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("x-auth-token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            text = res.read()
            return res, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        if err.code in want:
            return err, None
        raise SystemExit(f"{method} {url}: {err.code} {err.read()[:300]!r}")


def admin_token():
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": os.environ["OS_USERNAME"], "domain": {"id": "default"}, "password": os.environ["OS_PASSWORD"]}}},
                     "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"id": "default"}}}}}
    res, _ = call("POST", f"{KEYSTONE}/auth/tokens", body)
    return res.headers["x-subject-token"]


def one(token, url, key):
    _, body = call("GET", url, token=token)
    return (body[key] or [None])[0]


def user(token):
    found = one(token, f"{KEYSTONE}/users?name=neutron&domain_id=default", "users")
    uid = found["id"] if found else call("POST", f"{KEYSTONE}/users", {"user": {"name": "neutron", "domain_id": "default", "password": "secret"}}, token)[1]["user"]["id"]
    service = one(token, f"{KEYSTONE}/projects?name=service", "projects")["id"]
    admin = one(token, f"{KEYSTONE}/roles?name=admin", "roles")["id"]
    call("PUT", f"{KEYSTONE}/projects/{service}/users/{uid}/roles/{admin}", token=token)


def ensure(token, kind, name, body):
    found = one(token, f"{NEUTRON}/{kind}s?name={name}", f"{kind}s")
    if found:
        return found
    return call("POST", f"{NEUTRON}/{kind}s", {kind: {"name": name, **body}}, token)[1][kind]


def networks(token):
    demo = one(token, f"{KEYSTONE}/projects?name=demo", "projects")["id"]
    public = ensure(token, "network", "public", {"router:external": True, "provider:network_type": "flat", "provider:physical_network": "public"})
    ensure(token, "subnet", "public-subnet", {"network_id": public["id"], "ip_version": 4, "cidr": "203.0.113.0/24", "gateway_ip": "203.0.113.1", "enable_dhcp": False})
    private = ensure(token, "network", "private", {"project_id": demo})
    subnets = [ensure(token, "subnet", name, {"network_id": private["id"], "ip_version": 4, "cidr": cidr, "enable_dhcp": False, "project_id": demo})
               for name, cidr in (("private-subnet", "10.0.0.0/24"), ("private-b", "10.0.1.0/24"))]
    router = one(token, f"{NEUTRON}/routers?name=demo-router", "routers")
    if not router:
        router = call("POST", f"{NEUTRON}/routers", {"router": {"name": "demo-router", "project_id": demo, "external_gateway_info": {"network_id": public["id"]}}}, token)[1]["router"]
        for s in subnets:
            call("PUT", f"{NEUTRON}/routers/{router['id']}/add_router_interface", {"subnet_id": s["id"]}, token)


if __name__ == "__main__":
    {"user": user, "networks": networks}[sys.argv[1]](admin_token())
