// What the binary needs before it loads anything else: the provider's name
// and port (the healthcheck subcommand dials that port), and what the
// provider registry (providers/index.ts) lists without loading the provider.
export const awsIdentity = { name: "aws", defaultPort: 50051, displayName: "AWS EC2" } as const;
