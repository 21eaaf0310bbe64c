#!/usr/bin/env bun
import { runBinary } from "../../shared/entry";
import { gcpIdentity } from "./provider-id";

void runBinary(gcpIdentity, async () => (await import("./definition")).gcpProvider);
