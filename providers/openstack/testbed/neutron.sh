#!/bin/bash
# Real Neutron for the testbed: Debian's neutron-server (Zed) with ML2 on 9696, no agents.
#   neutron.sh setup   config, database, Keystone user, start, networks (idempotent: also
#                      upgrades a testbed set up before Neutron was part of it)
#   neutron.sh start   (re)write its config and start neutron-server from existing state
# ML2 uses vlan tenant networks and one flat external network; ports are bound by the
# testbed's own mechanism driver (skyclust_bind_all.py), so Nova's fake driver gets bound
# ports with no OVS or Linux bridge agent. The L3 router plugin gives routers and
# floating IPs (API and database only: there is no data plane on loopback).
# Fixtures: network "private" (subnet private-subnet 10.0.0.0/24, and private-b
# 10.0.1.0/24) in project demo, external network "public" (203.0.113.0/24, documentation
# range, never routed), router demo-router from private to public.
set -eu
. "$(dirname "$0")/env.sh"
PY=/usr/bin/python3
DB=mysql+pymysql://openstack:secret@127.0.0.1:3306
NT=$T/neutron
quiet() { grep -vE 'getcurrent|_removeHandlerRef|_acquireLock|acquire$|get_ident|^Traceback|^  File|^Exception ignored|^\s+\^|^\s+(if|self|return)|alembic|^INFO|^Running' || true; }
waitport() { for i in $(seq 1 90); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 1; done; echo "port $1 not up"; return 1; }

write_config() {
  mkdir -p $NT/lock $NT/state "$NT/pylib/skyclust_bind_all-1.0.dist-info"
  # The mechanism driver is found through an entry point, as ML2 loads drivers by name.
  printf 'Metadata-Version: 2.1\nName: skyclust-bind-all\nVersion: 1.0\n' > "$NT/pylib/skyclust_bind_all-1.0.dist-info/METADATA"
  printf '[neutron.ml2.mechanism_drivers]\nskyclust_bind_all = skyclust_bind_all:BindAllMechanismDriver\n' > "$NT/pylib/skyclust_bind_all-1.0.dist-info/entry_points.txt"
  cp $TESTBED_HOME/skyclust_bind_all.py $NT/pylib/
  # python3-neutron ships no api-paste.ini (neutron-common would, with /etc and services): the
  # standard pipeline, with Keystone auth.
  cat > $NT/api-paste.ini <<'PASTE'
[composite:neutron]
use = egg:Paste#urlmap
/: neutronversions_composite
/v2.0: neutronapi_v2_0
[composite:neutronapi_v2_0]
use = call:neutron.auth:pipeline_factory
keystone = cors http_proxy_to_wsgi request_id catch_errors authtoken keystonecontext extensions neutronapiapp_v2_0
[composite:neutronversions_composite]
use = call:neutron.auth:pipeline_factory
keystone = cors http_proxy_to_wsgi neutronversions
[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory
[filter:catch_errors]
paste.filter_factory = oslo_middleware:CatchErrors.factory
[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = neutron
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory
[filter:keystonecontext]
paste.filter_factory = neutron.auth:NeutronKeystoneContext.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
[filter:extensions]
paste.filter_factory = neutron.api.extensions:plugin_aware_extension_middleware_factory
[app:neutronversions]
paste.app_factory = neutron.pecan_wsgi.app:versions_factory
[app:neutronapiapp_v2_0]
paste.app_factory = neutron.api.v2.router:APIRouter.factory
PASTE
  cat > $NT/neutron.conf <<CONF
[DEFAULT]
api_paste_config = $NT/api-paste.ini
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = rabbit://openstack:secret@127.0.0.1:5672/
state_path = $NT/state
log_file = $T/logs/neutron-server.log
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
dhcp_agent_notification = false
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $DB/neutron
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000/v3
auth_url = http://127.0.0.1:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = secret
[nova]
auth_url = http://127.0.0.1:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = secret
region_name = RegionOne
[ml2]
type_drivers = flat,vlan
tenant_network_types = vlan
mechanism_drivers = skyclust_bind_all
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = physnet1:1000:1999
[oslo_concurrency]
lock_path = $NT/lock
[agent]
root_helper = true
CONF
}

start_server() {
  PYTHONPATH=$NT/pylib $TESTBED_HOME/start.sh neutron-server $PY -c 'from neutron.cmd.eventlet.server import main; main()' \
    --config-file $NT/neutron.conf
  waitport 9696
}

setup() {
  . $T/admin-openrc
  mysql --defaults-file=$T/mysql/my.cnf -uroot -e "CREATE DATABASE IF NOT EXISTS neutron;"
  $PY $TESTBED_HOME/neutron_fixtures.py user
  write_config
  $PY -c 'import sys; from neutron.db.migration.cli import main; sys.exit(main())' --config-file $NT/neutron.conf upgrade heads 2>&1 | quiet | tail -2
  start_server
  $PY $TESTBED_HOME/neutron_fixtures.py networks
  touch $T/neutron.done
  echo "neutron set up"
}

case "${1:-}" in
  setup) setup ;;
  # The config is written on every start, so a change to it here reaches existing testbeds.
  start) write_config; start_server ;;
  *) echo "usage: $0 setup|start" >&2; exit 2 ;;
esac
