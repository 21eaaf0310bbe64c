// What the binary needs before it loads anything else: the provider's name
// and port (the healthcheck subcommand dials that port).
export const proxmoxIdentity = { name: "proxmox", defaultPort: 50054 } as const;
