#!/usr/bin/env bun
import { runProvider } from "../../shared/main";
import { openstackProvider } from "./definition";

await runProvider(openstackProvider);
