import { expect, test } from "bun:test";
import { isLoopbackPeer } from "./access";

test("loopback peers as grpc-js writes them; anything else (or unknown) is remote", () => {
  for (const peer of ["127.0.0.1:5000", "127.8.9.10:1", "[::1]:5000", "::1:5000", "::ffff:127.0.0.1:5000"]) expect([peer, isLoopbackPeer(peer)]).toEqual([peer, true]);
  for (const peer of ["10.213.1.2:5000", "[2001:db8::1]:5000", "::ffff:10.0.0.1:1", "unknown", "", "127.0.0.1.evil:1", "128.0.0.1:1"]) {
    expect([peer, isLoopbackPeer(peer)]).toEqual([peer, false]);
  }
});
