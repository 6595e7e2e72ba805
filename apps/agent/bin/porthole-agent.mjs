#!/usr/bin/env node
// `porthole-agent` command: runs the TypeScript entry point through tsx's ESM loader (the monorepo
// ships TypeScript sources; a bundled build for devices is a packaging step, not needed here).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
