// What the binary needs before it loads anything else: the provider's name
// and port (the healthcheck subcommand dials that port).
export const openstackIdentity = { name: "openstack", defaultPort: 50053 } as const;
