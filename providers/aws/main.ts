#!/usr/bin/env bun
import { runProvider } from "../../shared/main";
import { awsProvider } from "./definition";

await runProvider(awsProvider);
