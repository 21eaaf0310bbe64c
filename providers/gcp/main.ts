#!/usr/bin/env bun
import { runProvider } from "../../shared/main";
import { gcpProvider } from "./definition";

await runProvider(gcpProvider);
