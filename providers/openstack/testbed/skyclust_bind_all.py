# An ML2 mechanism driver for the testbed: binds every port on any segment
# without a networking agent, so Nova (fake virt driver) gets bound ports from
# a real neutron-server on loopback. Nothing is plugged anywhere: there is no
# data plane, only Neutron's API and database (ports, subnets, routers,
# floating IPs). Registered through an entry point that setup writes
# ($T/neutron/pylib/skyclust_bind_all-1.0.dist-info).
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            # vif_type "ovs" is what Nova expects from a normal port; the fake
            # virt driver plugs nothing, so no bridge has to exist.
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS, {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False})
            return
