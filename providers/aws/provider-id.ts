// What the binary needs before it loads anything else: the provider's name
// and port (the healthcheck subcommand dials that port).
export const awsIdentity = { name: "aws", defaultPort: 50051 } as const;
