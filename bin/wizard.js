#!/usr/bin/env node
// Thin launcher so `npx wizard` works from the repo root; the real entry is compiled from src/main.ts.
import '../dist/main.js';
