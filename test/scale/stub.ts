// Where the stub CLI lives, and the config that runs the daemon on it (soak, chaos, benchmarks, tests).
import { join } from "node:path";
import { REPO } from "../support/harness.js";

/** The stub Claude Code CLI: directly executable (`#!/usr/bin/env node`). */
export const STUB_CLAUDE = join(REPO, "test", "fixtures", "stub-claude.mjs");
