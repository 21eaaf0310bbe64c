#!/usr/bin/env bun
import { runBinary } from "../../shared/entry";
import { openstackIdentity } from "./provider-id";

void runBinary(openstackIdentity, async () => (await import("./definition")).openstackProvider);
