// What the binary needs before it loads anything else: the provider's name
// and port (the healthcheck subcommand dials that port).
export const gcpIdentity = { name: "gcp", defaultPort: 50052 } as const;
