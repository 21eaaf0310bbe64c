#!/usr/bin/env bun
import { runProvider } from "../../shared/main";
import { proxmoxProvider } from "./definition";

await runProvider(proxmoxProvider);
