#!/usr/bin/env bun
import { runBinary } from "../../shared/entry";
import { awsIdentity } from "./provider-id";

void runBinary(awsIdentity, async () => (await import("./definition")).awsProvider);
