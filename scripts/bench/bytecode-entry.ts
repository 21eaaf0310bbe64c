// The aws entry point without top-level await, so `bun build --compile
// --bytecode` accepts it (bytecode builds reject top-level await). Only the
// benchmark's "what if the binary shipped bytecode" start-up row uses it.
import { runProvider } from "../../shared/main";
import { awsProvider } from "../../providers/aws/definition";

void runProvider(awsProvider);
