#!/usr/bin/env node
// `porthole-agent` command for development: runs the TypeScript entry point through tsx's ESM loader.
// Devices run the device build instead (`npm run build:agent`: one bundle run by plain node, ~25 MB
// less resident than under tsx; infra/porthole-agent.service runs it).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
