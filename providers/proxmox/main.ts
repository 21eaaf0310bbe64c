#!/usr/bin/env bun
import { runBinary } from "../../shared/entry";
import { proxmoxIdentity } from "./provider-id";

void runBinary(proxmoxIdentity, async () => (await import("./definition")).proxmoxProvider);
