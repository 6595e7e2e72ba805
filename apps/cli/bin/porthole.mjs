#!/usr/bin/env node
// `porthole` command: runs the TypeScript entry point through tsx's ESM loader (the monorepo ships
// TypeScript sources, as apps/agent/bin does).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
