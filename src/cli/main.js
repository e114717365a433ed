#!/usr/bin/env node
/**
 * The `portcullis` command. This one file is plain JavaScript on purpose: it turns Node's
 * compile cache on before any TypeScript loads, so the sources' types are stripped once and
 * not on every start, which is most of what a short command would otherwise cost (the cache
 * lives in the system's temporary folder; a stale entry is simply compiled again).
 */
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { main } = await import('./program.ts');
await main(process.argv);
